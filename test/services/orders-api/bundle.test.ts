/**
 * The BUILT bundle, run with plain node over real HTTP: contract smoke, config errors, graceful
 * shutdown, and persistence across a restart with STORE=table on Azurite.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteTables, freePort, type Azurite } from '../../support/azurite.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

const root = process.cwd();
const bundle = join(root, 'lib-services', 'dist', 'orders-api', 'server.mjs');
let issuer: TestIssuer;
let azurite: Azurite;

interface Running { url: string; child: ChildProcess; output: () => string }

async function startBundle(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  // Only what we pass: no inherited AUTH_* or STORE from the developer's shell.
  const child = spawn(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bundle exited ${child.exitCode}: ${out}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`bundle did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, child, output: () => out };
}

function stop(r: Running): Promise<number | null> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null) return resolve(r.child.exitCode);
    r.child.once('exit', (code) => resolve(code));
    r.child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'lib-services', 'build.mjs'), 'orders-api'], { stdio: 'pipe' });
  [issuer, azurite] = await Promise.all([TestIssuer.start(), startAzuriteTables()]);
}, 120_000);
afterAll(async () => {
  await issuer?.stop();
  await azurite?.stop();
});

describe('built bundle', () => {
  it('is written with openapi.json and a Dockerfile', () => {
    for (const f of ['server.mjs', 'openapi.json', 'Dockerfile']) expect(existsSync(join(root, 'lib-services', 'dist', 'orders-api', f)), f).toBe(true);
  });

  it('refuses to start with one line naming the variable', () => {
    const run = (env: Record<string, string>) => {
      try {
        execFileSync(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe', timeout: 10_000 });
        return { code: 0, stderr: '' };
      } catch (err) {
        const e = err as { status: number; stderr: Buffer };
        return { code: e.status, stderr: e.stderr.toString() };
      }
    };
    for (const [env, variable] of [
      [{}, 'AUTH_TENANT_ID'],
      [{ AUTH_ISSUERS: 'http://issuer.example.com' }, 'AUTH_ISSUERS'],
      [{ AUTH_ISSUERS: issuer.issuer, STORE: 'table' }, 'TABLES_ENDPOINT'],
      [{ AUTH_ISSUERS: issuer.issuer, STORE: 'disk' }, 'STORE'],
      [{ AUTH_ISSUERS: issuer.issuer, GATEWAY_AUDIENCE: 'api://orders-gateway' }, 'GATEWAY_PRINCIPAL_IDS'],
      [{ AUTH_ISSUERS: issuer.issuer, GATEWAY_PRINCIPAL_IDS: USERS.carol.oid }, 'GATEWAY_AUDIENCE'],
    ] as const) {
      const r = run(env);
      expect(r.code, variable).not.toBe(0);
      expect(r.stderr.trim().split('\n'), variable).toHaveLength(1);
      expect(r.stderr, variable).toContain(variable);
    }
  });

  it('persists orders across a restart with STORE=table on Azurite, shutting down gracefully', async () => {
    const env = {
      ...issuer.env(),
      STORE: 'table',
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ORDERS_TABLE_NAME: 'bundleorders',
      ORDERS_SEED_OWNER_OID: USERS.alice.oid,
    };
    const token = await issuer.mint();
    const auth = { 'authorization': `Bearer ${token}`, 'content-type': 'application/json' };
    const first = await startBundle(env);
    const created = await (await fetch(`${first.url}/orders`, { method: 'POST', headers: auth, body: JSON.stringify({ customer_name: 'Persist', product: 'Disk', quantity: 3 }) })).json();
    expect((await fetch(`${first.url}/orders/ORD-002`, { method: 'DELETE', headers: auth })).status).toBe(204);
    const before = await (await fetch(`${first.url}/orders`, { headers: auth })).json();
    expect(before.map((o: { id: string }) => o.id)).toContain(created.id);
    expect(await stop(first)).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');

    const second = await startBundle(env);
    try {
      const after = await (await fetch(`${second.url}/orders`, { headers: auth })).json();
      // Same orders; the deleted seed order is not re-seeded.
      expect(after).toEqual(before);
      expect(after.map((o: { id: string }) => o.id)).not.toContain('ORD-002');
      expect(second.output()).toContain('"inserted":0');
    } finally {
      await stop(second);
    }
    expect(first.output() + second.output()).not.toContain(token.split('.')[1].slice(0, 24));
  });

  it('serves the contract over HTTP: MCP, metadata, challenge', async () => {
    const svc = await startBundle({ ...issuer.env() });
    try {
      const token = await issuer.mint({ user: USERS.bob });
      const res = await fetch(`${svc.url}/mcp`, {
        method: 'POST',
        headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create-order', arguments: { customer_name: 'B', product: 'C', quantity: 1 } } }),
      });
      expect((await res.json()).result.structuredContent).toMatchObject({ owner_oid: USERS.bob.oid });
      const unauth = await fetch(`${svc.url}/mcp`, { method: 'POST' });
      expect(unauth.status).toBe(401);
      expect(unauth.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${svc.url}/.well-known/oauth-protected-resource/mcp"`);
      expect((await (await fetch(`${svc.url}/.well-known/oauth-protected-resource`)).json()).resource).toBe(svc.url);
    } finally {
      expect(await stop(svc)).toBe(0);
    }
  });
});

/**
 * The shared logger (JSON lines to an asynchronous sonic-boom destination): its line shape, the guarantee that no
 * token or header value reaches a line even when a caller passes one by mistake, and that the
 * built bundles of both services lose no line on SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsContainToken } from './harness.js';
import { freePort } from '../../../lib-services/shared/net.js';
import { createLogger } from '../../../lib-services/shared/observability.js';
import { TestIssuer } from '../../support/issuer.js';

const root = process.cwd();
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await TestIssuer.start();
});
afterAll(async () => {
  await issuer?.stop();
});

describe('logger output', () => {
  it('writes one JSON object per line: ISO time, level name, service, msg, then the fields; undefined fields left out', () => {
    const lines: string[] = [];
    const logger = createLogger('orders-api', (l) => lines.push(l));
    logger.info('request', { status: 200, caller_oid: undefined });
    logger.log('debug', 'detail');
    logger.error('unhandled error', { reason: 'boom' });
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed[0]).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: 'info', service: 'orders-api', msg: 'request', status: 200 });
    expect(Object.keys(parsed[0])).toEqual(['time', 'level', 'service', 'msg', 'status']);
    expect(Math.abs(Date.parse(parsed[0].time) - Date.now())).toBeLessThan(5_000);
    expect(parsed[1]).toMatchObject({ level: 'debug', msg: 'detail' });
    expect(parsed[2]).toMatchObject({ level: 'error', msg: 'unhandled error', reason: 'boom' });
  });

  it('drops tokens and header values even when a caller passes a principal, headers or an Authorization value', async () => {
    const token = await issuer.mint();
    const lines: string[] = [];
    const logger = createLogger('orders-api', (l) => lines.push(l));
    logger.warn('mistake', {
      principal: { oid: 'oid-1', token },
      headers: { authorization: `Bearer ${token}` },
      authorization: `Bearer ${token}`,
      cookie: `session=${token}`,
      body: token,
      token,
    });
    expect(logsContainToken(lines, [token])).toBe(false);
    expect(JSON.parse(lines[0])).toEqual(expect.objectContaining({ msg: 'mistake', principal: { oid: 'oid-1' } }));
    // The check can fail: a field the redaction does not know carries the token through.
    logger.warn('unknown field', { note: token });
    expect(logsContainToken(lines, [token])).toBe(true);
  });
});

interface Bundle { url: string; stdout: () => string; exited: Promise<number | null>; kill(signal: NodeJS.Signals): void }

async function startBundle(service: 'orders-api' | 'chat-app', env: Record<string, string>): Promise<Bundle> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'lib-services', 'dist', service, 'server.mjs')], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 15_000; ;) {
    if (child.exitCode !== null) throw new Error(`${service} exited ${child.exitCode}: ${err}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${service} did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stdout: () => out, exited, kill: (s) => child.kill(s) };
}

/** Many requests with known ids, SIGTERM right after the last answer, then every access line must be there. */
async function everyLineSurvives(b: Bundle, path: string, headers: Record<string, string>): Promise<void> {
  const ids = Array.from({ length: 400 }, (_, i) => `shutdown-${i}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map(async (id) => {
      const res = await fetch(`${b.url}${path}`, { headers: { ...headers, 'x-request-id': id } });
      await res.arrayBuffer();
      expect(res.ok).toBe(true);
    }));
  }
  b.kill('SIGTERM');
  expect(await b.exited).toBe(0);
  const lines = b.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const logged = new Set(lines.filter((l) => l.msg === 'request').map((l) => l.request_id));
  expect(ids.filter((id) => !logged.has(id))).toEqual([]);
  expect(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
}

describe('built bundles on SIGTERM', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'lib-services', 'build.mjs'), 'orders-api', 'chat-app'], { stdio: 'pipe' });
  }, 180_000);

  it('the Orders API writes every access line and its last line before it exits', async () => {
    const token = await issuer.mint();
    // 400 requests of one user: the per-user rate limit (120 a minute by default) is off here.
    const b = await startBundle('orders-api', { ...issuer.env(), RATE_LIMIT_PER_MINUTE: '0' });
    await everyLineSurvives(b, '/orders', { authorization: `Bearer ${token}` });
    expect(b.stdout().trim().split('\n').at(-1)).toContain('"msg":"stopped"');
    expect(logsContainToken([b.stdout()], [token])).toBe(false);
  }, 60_000);

  it('the Chat App writes every access line before it exits', async () => {
    const b = await startBundle('chat-app', {
      ...issuer.env(),
      SPA_CLIENT_ID: issuer.clientId,
      AUTH_AUTHORITY: 'https://login.example.test/tenant',
      FOUNDRY_PROJECT_ENDPOINT: 'https://bench.services.ai.azure.com/api/projects/local',
    });
    await everyLineSurvives(b, '/health', {});
  }, 60_000);
});

/** The bad-token matrix over REST and MCP: right status, right challenge, nothing changes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsContainToken, startService, type TestService } from './harness.js';
import { badTokenCases, goodTokenCases, type BadTokenCase } from '../../support/bad-tokens.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

let issuer: TestIssuer;
let svc: TestService;
let cases: BadTokenCase[];
let good: { name: string; authorization: string }[];

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer);
  cases = await badTokenCases(issuer);
  good = await goodTokenCases(issuer);
});
afterAll(async () => {
  await svc?.close();
  await issuer?.stop();
});

const MCP_CREATE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'create-order', arguments: { customer_name: 'Mallory', product: 'Crowbar', quantity: 1 } },
});

async function snapshot(): Promise<string> {
  return JSON.stringify(await svc.store.list());
}

function expectChallenge(res: Response, c: BadTokenCase, metadataPath: string) {
  expect(res.status, c.name).toBe(c.status);
  const challenge = res.headers.get('www-authenticate') ?? '';
  const metadata = `resource_metadata="${svc.url}/.well-known/oauth-protected-resource${metadataPath}"`;
  if (c.error) expect(challenge, c.name).toMatch(new RegExp(`^Bearer error="${c.error}", .*${metadata.replace(/[.?/]/g, '\\$&')}$`));
  else expect(challenge, c.name).toBe(`Bearer ${metadata}`);
}

describe('bad-token matrix', () => {
  it('has at least 20 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it('REST: every case gets its status, challenge and {error, message}; nothing changes', async () => {
    const before = await snapshot();
    for (const c of cases) {
      const headers: Record<string, string> = c.authorization ? { authorization: c.authorization } : {};
      for (const [method, path, body] of [
        ['GET', '/orders', undefined], ['POST', '/orders', JSON.stringify({ customer_name: 'Mallory', product: 'Crowbar', quantity: 1 })],
        ['PUT', '/orders/ORD-001', JSON.stringify({ status: 'delivered' })], ['DELETE', '/orders/ORD-002', undefined],
      ] as const) {
        const res = await svc.request(`${path}${c.query ? `?${c.query}` : ''}`, { method, headers, body });
        expectChallenge(res, c, '');
        const json = await res.json();
        expect(json, c.name).toEqual({ error: expect.any(String), message: expect.any(String) });
        if (c.error) expect(json.error).toBe(c.error);
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it('MCP: every case on every method of /mcp gets its status and challenge; nothing changes', async () => {
    const before = await snapshot();
    for (const c of cases) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'accept': 'application/json, text/event-stream',
        ...(c.authorization ? { authorization: c.authorization } : {}),
      };
      for (const method of ['POST', 'GET', 'DELETE']) {
        const res = await svc.request(`/mcp${c.query ? `?${c.query}` : ''}`, { method, headers, body: method === 'POST' ? MCP_CREATE : undefined });
        expectChallenge(res, c, '/mcp');
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it('accepts the good variants (the matrix is not passing by refusing everything)', async () => {
    for (const g of good) {
      const res = await svc.request('/orders', { headers: { authorization: g.authorization } });
      expect(res.status, g.name).toBe(200);
    }
    const res = await svc.request('/mcp', {
      method: 'POST',
      body: MCP_CREATE,
      headers: { 'authorization': good[0].authorization, 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' },
    });
    expect(res.status).toBe(200);
    const rpc = await res.json();
    expect(rpc.result.isError).toBeFalsy();
    expect(rpc.result.structuredContent).toMatchObject({ owner_oid: USERS.alice.oid, customer_name: 'Mallory' });
  });

  it('MCP GET and DELETE with a valid token give 405 (stateless)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await svc.request('/mcp', { method, headers: { authorization: good[0].authorization } });
      expect(res.status).toBe(405);
      expect(await res.json()).toMatchObject({ error: 'method_not_allowed' });
    }
  });

  it('logs no token text from any case', () => {
    const tokens = [...cases, ...good].map((c: { authorization?: string; query?: string }) => (c.authorization ?? c.query ?? '').replace(/^\S+\s+/, '').replace(/^access_token=/, ''));
    expect(logsContainToken(svc.logs, tokens.filter((t) => t.length > 40))).toBe(false);
  });
});

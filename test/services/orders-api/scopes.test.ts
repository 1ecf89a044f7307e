/**
 * Per-operation scopes with step-up (ORDERS_READ_SCOPES / ORDERS_WRITE_SCOPES): the scope matrix
 * over REST and over MCP with the official SDK client, the challenge the spec's step-up flow
 * reads, RFC 9728 scopes_supported, the identity receipt, and the configuration rules.
 */
import { randomUUID } from 'node:crypto';
import {
  Client as CurrentClient, InsufficientScopeError, StreamableHTTPClientTransport as CurrentTransport, type CallToolResult,
} from '@modelcontextprotocol/client';
import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './harness.js';
import { mcpToolSession } from '../../../lib-services/local/agent/mcp-tools.js';
import { ordersConfigFromEnv } from '../../../lib-services/orders-api/config.js';
import { TestIssuer, USERS, type TestUser } from '../../support/issuer.js';

const API = randomUUID();
const READ = 'Orders.Read';
const WRITE = 'Orders.ReadWrite';
const SCOPE_ENV = {
  AUTH_AUDIENCES: `api://${API},${API}`,
  AUTH_REQUIRED_SCOPES: `${READ},${WRITE}`,
  ORDERS_READ_SCOPES: READ,
  ORDERS_WRITE_SCOPES: WRITE,
};

let issuer: TestIssuer;
let svc: TestService;
const clients: Client[] = [];

const mint = (scp: string, user: TestUser = USERS.alice, aud = API) => issuer.mint({ user, claims: { aud, scp } });

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer, { env: SCOPE_ENV });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await svc?.close();
  await issuer?.stop();
});

/** The official client, with a fetch that keeps every answer's status and challenge. */
async function connect(token: string) {
  const answers: { status: number; challenge: string | null; params: ReturnType<typeof extractWWWAuthenticateParams> }[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      answers.push({ status: res.status, challenge: res.headers.get('www-authenticate'), params: extractWWWAuthenticateParams(res) });
      return res;
    },
  });
  const client = new Client({ name: 'scope-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return { client, answers };
}

const CREATE = { customer_name: 'Alice Anders', product: 'Pen', quantity: 1 };

describe('scope matrix over REST', () => {
  const routes = [
    ['GET', '/orders', undefined, 'read'],
    ['GET', '/orders/ORD-001', undefined, 'read'],
    ['POST', '/orders', JSON.stringify(CREATE), 'write'],
    ['PUT', '/orders/ORD-001', JSON.stringify({ quantity: 3 }), 'write'],
    ['DELETE', '/orders/ORD-008', undefined, 'write'],
  ] as const;

  it.each([
    ['read only', READ, { read: true, write: false }],
    ['write only', WRITE, { read: true, write: true }],
    ['read and write', `${READ} ${WRITE}`, { read: true, write: true }],
    ['neither (another scope of the API)', 'Orders.Other', { read: false, write: false }],
  ])('%s', async (_name, scp, allowed) => {
    // The required-scope gate (AUTH_REQUIRED_SCOPES) turns "neither" into its own 403 first.
    for (const [method, path, body, access] of routes) {
      const token = await mint(scp);
      const before = JSON.stringify(await svc.store.list());
      const res = await svc.request(path, { method, token, body });
      if (allowed[access]) {
        // 404 once an earlier case deleted ORD-008: allowed, just gone.
        expect([200, 201, 204, 404], `${scp} ${method} ${path}`).toContain(res.status);
        continue;
      }
      expect(res.status, `${scp} ${method} ${path}`).toBe(403);
      expect(await res.json()).toEqual({ error: 'insufficient_scope', message: expect.any(String) });
      const challenge = res.headers.get('www-authenticate')!;
      expect(challenge).toMatch(/^Bearer error="insufficient_scope", scope="[^"]+", resource_metadata="[^"]+"$/);
      if (scp !== 'Orders.Other') {
        // A reader asking to change: the challenge names the write scope, as the client requests it.
        expect(challenge).toContain(`scope="api://${API}/${WRITE}"`);
        expect(challenge).toContain(`resource_metadata="${svc.url}/.well-known/oauth-protected-resource"`);
      }
      expect(JSON.stringify(await svc.store.list())).toBe(before);
    }
  });

  it('metadata lists both scopes qualified by the first audience', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const meta = await (await svc.request(path)).json();
      expect(meta.scopes_supported).toEqual([`api://${API}/${READ}`, `api://${API}/${WRITE}`]);
    }
  });

  it('the step-up challenge names the REST public base (PUBLIC_REST_BASE_URL), MCP\'s names PUBLIC_BASE_URL', async () => {
    const gw = 'https://apim.example.net';
    const behind = await startService(issuer, { env: { ...SCOPE_ENV, PUBLIC_BASE_URL: `${gw}/orders-mcp`, PUBLIC_REST_BASE_URL: `${gw}/orders-api` } });
    try {
      const res = await behind.request('/orders', { method: 'POST', token: await mint(READ), body: JSON.stringify(CREATE) });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate'))
        .toBe(`Bearer error="insufficient_scope", scope="api://${API}/${WRITE}", resource_metadata="${gw}/.well-known/oauth-protected-resource/orders-api"`);
      const meta = await (await behind.request('/.well-known/oauth-protected-resource')).json();
      expect([meta.resource, meta.scopes_supported]).toEqual([`${gw}/orders-api`, [`api://${API}/${READ}`, `api://${API}/${WRITE}`]]);
      const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create-order', arguments: CREATE } };
      const mcp = await behind.request('/mcp', {
        method: 'POST', token: await mint(READ), body: JSON.stringify(call), headers: { accept: 'application/json, text/event-stream' },
      });
      expect(mcp.status).toBe(403);
      expect(mcp.headers.get('www-authenticate')).toContain(`resource_metadata="${gw}/.well-known/oauth-protected-resource/orders-mcp/mcp"`);
    } finally {
      await behind.close();
    }
  });

  it('without the variables there is no per-operation check, as before', async () => {
    const plain = await startService(issuer, { env: { AUTH_AUDIENCES: API, AUTH_REQUIRED_SCOPES: `${READ},${WRITE}` } });
    try {
      const res = await plain.request('/orders', { method: 'POST', token: await mint(READ), body: JSON.stringify(CREATE) });
      expect(res.status).toBe(201);
      expect((await (await plain.request('/.well-known/oauth-protected-resource')).json()).scopes_supported)
        .toEqual([`${API}/${READ}`, `${API}/${WRITE}`]);
    } finally {
      await plain.close();
    }
  });
});

describe('scope matrix over MCP (official SDK client)', () => {
  const tools = [
    ['list-orders', {}, 'read'],
    ['get-order', { order_id: 'ORD-002' }, 'read'],
    ['health-check', {}, 'read'],
    ['create-order', CREATE, 'write'],
    ['update-order', { order_id: 'ORD-003', quantity: 2 }, 'write'],
    ['delete-order', { order_id: 'ORD-007' }, 'write'],
  ] as const;

  it('a reader lists and calls the read tools; each change gets HTTP 403 with the step-up challenge', async () => {
    const { client, answers } = await connect(await mint(READ));
    // tools/list is not gated: the client learns about the tools it may step up to.
    expect((await client.listTools()).tools).toHaveLength(6);
    for (const [name, args, access] of tools) {
      const before = JSON.stringify(await svc.store.list());
      if (access === 'read') {
        const result = await client.callTool({ name, arguments: args });
        expect(result.isError, name).toBeFalsy();
        continue;
      }
      const error = await client.callTool({ name, arguments: args }).then(() => undefined, (e: unknown) => e);
      expect(error, name).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(403);
      // The body is a JSON-RPC error naming the scope.
      const body = JSON.parse(/\{.*\}/s.exec((error as Error).message)![0]);
      expect(body).toMatchObject({ jsonrpc: '2.0', error: { data: { error: 'insufficient_scope', scope: `api://${API}/${WRITE}`, tool: name } } });
      expect(typeof body.id).toBe('number');
      // What the SDK's own step-up code reads from the challenge.
      const last = answers[answers.length - 1];
      expect(last.status).toBe(403);
      expect(last.params).toEqual({
        error: 'insufficient_scope',
        scope: `api://${API}/${WRITE}`,
        resourceMetadataUrl: new URL(`${svc.url}/.well-known/oauth-protected-resource/mcp`),
      });
      expect(JSON.stringify(await svc.store.list())).toBe(before);
    }
  });

  it('a writer calls every tool', async () => {
    const { client } = await connect(await mint(WRITE, USERS.bob));
    for (const [name, args] of tools) {
      const result = await client.callTool({ name, arguments: name === 'create-order' ? { ...CREATE, customer_name: 'Bob' } : args });
      // bob owns none of alice's seed orders: not_found is a tool result, not a refusal.
      if (name === 'get-order' || name === 'update-order' || name === 'delete-order') {
        expect(JSON.parse((result.content as { text: string }[])[0].text).error, name).toBe('not_found');
      } else {
        expect(result.isError, name).toBeFalsy();
      }
    }
  });

  it('an unknown tool is refused like a change (fail closed) for a reader', async () => {
    const { client } = await connect(await mint(READ));
    const error = await client.callTool({ name: 'drop-table', arguments: {} }).then(() => undefined, (e: unknown) => e);
    expect((error as StreamableHTTPError).code).toBe(403);
  });
});

describe('identity receipt on every tool result', () => {
  it('carries what was verified, on success and on isError, never the token', async () => {
    const token = await mint(`${READ} ${WRITE}`, USERS.bob);
    const claims = decodeJwt(token);
    const { client } = await connect(token);
    const expected = {
      service: 'orders-api',
      oid: USERS.bob.oid,
      name: USERS.bob.name,
      aud: API,
      azp: issuer.clientId,
      scopes: [READ, WRITE],
      token_id: claims.jti,
    };
    const results = [
      await client.callTool({ name: 'list-orders', arguments: {} }),
      await client.callTool({ name: 'create-order', arguments: { ...CREATE, customer_name: 'Bob' } }),
      await client.callTool({ name: 'get-order', arguments: { order_id: 'ORD-001' } }), // not bob's: isError
      await client.callTool({ name: 'create-order', arguments: { product: 'x' } }), // bad input: the SDK's own error result
      await client.callTool({ name: 'health-check', arguments: {} }),
    ];
    expect(results.map((r) => Boolean(r.isError))).toEqual([false, false, true, true, false]);
    for (const r of results) {
      expect(r._meta?.identity).toEqual(expected);
      expect(JSON.stringify(r)).not.toContain(token.split('.')[2]);
    }
    // The other _meta fields stay.
    const created = results[1];
    expect(created._meta?.etag).toMatch(/^"/);
  });

  it('uses Entra\'s uti when there is no jti, and null for an absent name', async () => {
    const token = await issuer.mint({ claims: { aud: `api://${API}`, scp: READ, jti: undefined, uti: 'uti-123', name: undefined } });
    const { client } = await connect(token);
    const r = await client.callTool({ name: 'list-orders', arguments: {} });
    expect(r._meta?.identity).toMatchObject({ token_id: 'uti-123', name: null, aud: `api://${API}` });
  });
});

describe('the current revision (2026-07-28, the current SDK client pinned to it): same scopes, same receipts', () => {
  const CURRENT = '2026-07-28';
  async function connectCurrent(token: string) {
    const answers: { status: number; challenge: string | null }[] = [];
    const transport = new CurrentTransport(new URL(`${svc.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        answers.push({ status: res.status, challenge: res.headers.get('www-authenticate') });
        return res;
      },
    });
    const client = new CurrentClient({ name: 'scope-test-current', version: '1.0.0' }, { versionNegotiation: { mode: { pin: CURRENT } } });
    await client.connect(transport);
    expect(client.getNegotiatedProtocolVersion()).toBe(CURRENT);
    return { client, answers };
  }

  it('a reader calls the read tools; a change gets HTTP 403 with the step-up challenge and changes nothing', async () => {
    const { client, answers } = await connectCurrent(await mint(READ));
    try {
      expect((await client.listTools()).tools).toHaveLength(6);
      expect((await client.callTool({ name: 'list-orders', arguments: {} })).isError).toBeFalsy();
      const before = JSON.stringify(await svc.store.list());
      for (const name of ['create-order', 'delete-order', 'drop-table']) {
        const args = name === 'create-order' ? CREATE : { order_id: 'ORD-007' };
        const error = await client.callTool({ name, arguments: args }).then(() => undefined, (e: unknown) => e);
        expect(error, name).toBeInstanceOf(InsufficientScopeError);
        expect((error as InsufficientScopeError).requiredScope).toBe(`api://${API}/${WRITE}`);
        expect(answers.at(-1)).toEqual({
          status: 403,
          challenge: `Bearer error="insufficient_scope", scope="api://${API}/${WRITE}", resource_metadata="${svc.url}/.well-known/oauth-protected-resource/mcp"`,
        });
      }
      expect(JSON.stringify(await svc.store.list())).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('every tool result carries the receipt: success, isError and the SDK\'s own bad-input result', async () => {
    const token = await mint(`${READ} ${WRITE}`, USERS.bob);
    const { client } = await connectCurrent(token);
    try {
      const results: CallToolResult[] = [
        await client.callTool({ name: 'list-orders', arguments: {} }),
        await client.callTool({ name: 'get-order', arguments: { order_id: 'ORD-001' } }), // not bob's: isError
        await client.callTool({ name: 'create-order', arguments: { product: 'x' } }), // bad input: the SDK's own error result
      ];
      expect(results.map((r) => Boolean(r.isError))).toEqual([false, true, true]);
      for (const r of results) {
        expect(r._meta?.identity).toEqual({
          service: 'orders-api', oid: USERS.bob.oid, name: USERS.bob.name, aud: API, azp: issuer.clientId, scopes: [READ, WRITE], token_id: decodeJwt(token).jti,
        });
        expect(JSON.stringify(r)).not.toContain(token.split('.')[2]);
      }
    } finally {
      await client.close();
    }
  });

  it('the local agent runtime\'s client: the receipt of a read, the scope named by a refused change', async () => {
    const session = mcpToolSession(`${svc.url}/mcp`, await mint(READ, USERS.carol));
    try {
      const listed = await session.call('list-orders', {});
      expect(listed.ok).toBe(true);
      expect(listed.receipt).toMatchObject({ service: 'orders-api', oid: USERS.carol.oid, scopes: [READ] });
      const refused = await session.call('create-order', CREATE);
      expect(refused).toMatchObject({ ok: false, insufficientScope: `api://${API}/${WRITE}` });
      expect(refused.text).toContain('403 insufficient_scope');
    } finally {
      await session.close();
    }
  });
});

describe('configuration', () => {
  const base = () => ({ ...issuer.env(), PORT: '0' });
  it('needs both scope variables or neither, without whitespace in a scope', () => {
    expect(() => ordersConfigFromEnv({ ...base(), ORDERS_READ_SCOPES: READ })).toThrow(/^ORDERS_WRITE_SCOPES: /);
    expect(() => ordersConfigFromEnv({ ...base(), ORDERS_WRITE_SCOPES: WRITE })).toThrow(/^ORDERS_READ_SCOPES: /);
    expect(() => ordersConfigFromEnv({ ...base(), ORDERS_READ_SCOPES: 'a b', ORDERS_WRITE_SCOPES: WRITE })).toThrow(/^ORDERS_READ_SCOPES: "a b" contains whitespace/);
    expect(ordersConfigFromEnv(base()).scopes).toBeUndefined();
    expect(ordersConfigFromEnv({ ...base(), ORDERS_READ_SCOPES: ` ${READ} `, ORDERS_WRITE_SCOPES: `${WRITE},` }).scopes).toEqual({ read: [READ], write: [WRITE] });
  });
});

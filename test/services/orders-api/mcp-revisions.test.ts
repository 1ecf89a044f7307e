/**
 * One /mcp for every MCP revision a caller speaks: the current one (2026-07-28, through the SDK's
 * current client, and raw: `server/discover`, `Mcp-Method` / `Mcp-Name`) and the 2025 ones
 * (through the v1 SDK client, and raw 2025-06-18 as Foundry and API Management send it), with the
 * same tools, results and authorization, and the same 401 without a token.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './harness.js';
import { mcpToolSession } from '../../../lib-services/local/agent/mcp-tools.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

const CURRENT = '2026-07-28';
let issuer: TestIssuer;
let svc: TestService;
let token: string;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer);
  token = await issuer.mint({ user: USERS.alice });
});
afterAll(async () => {
  await svc?.close();
  await issuer?.stop();
});

const meta = (revision: string) => ({
  'io.modelcontextprotocol/protocolVersion': revision,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '0.0.0' },
});

/** A raw POST to /mcp; for the current revision with the standard request headers. */
/** `bearer: ''` sends no Authorization header. */
async function post(body: Record<string, unknown>, headers: Record<string, string> = {}, bearer = token): Promise<Response> {
  return fetch(`${svc.url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'accept': 'application/json, text/event-stream',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...body }),
  });
}

function currentHeaders(method: string, name?: string): Record<string, string> {
  return { 'mcp-protocol-version': CURRENT, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) };
}

describe('the current revision (2026-07-28)', () => {
  it('the current SDK client pinned to it lists the six tools and calls them as the caller', async () => {
    const client = new Client({ name: 'current', version: '1.0.0' }, { versionNegotiation: { mode: { pin: CURRENT } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect(client.getNegotiatedProtocolVersion()).toBe(CURRENT);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['create-order', 'delete-order', 'get-order', 'health-check', 'list-orders', 'update-order']);
      expect(tools.find((t) => t.name === 'create-order')!.inputSchema.required).toEqual(['customer_name', 'product', 'quantity']);
      const got = await client.callTool({ name: 'get-order', arguments: { order_id: 'ORD-001' } });
      const rest = await (await svc.request('/orders/ORD-001', { token })).json();
      expect(got.isError).toBeFalsy();
      expect(got.structuredContent).toEqual(rest);
      const missing = await client.callTool({ name: 'get-order', arguments: { order_id: 'ORD-999' } });
      expect(missing.isError).toBe(true);
      expect(missing.structuredContent).toMatchObject({ error: 'not_found' });
    } finally {
      await client.close();
    }
  });

  it('answers server/discover with the revisions it serves, the current one and the 2025 ones', async () => {
    const res = await post({ method: 'server/discover', params: { _meta: meta(CURRENT) } }, currentHeaders('server/discover'));
    expect(res.status).toBe(200);
    const body = await res.json() as { result: { supportedVersions: string[] } };
    expect(body.result.supportedVersions).toEqual(expect.arrayContaining([CURRENT]));
  });

  it('serves a raw tools/call with Mcp-Method and Mcp-Name, and refuses an Mcp-Name that contradicts the body', async () => {
    const call = { method: 'tools/call', params: { name: 'get-order', arguments: { order_id: 'ORD-001' }, _meta: meta(CURRENT) } };
    const ok = await post(call, currentHeaders('tools/call', 'get-order'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/application\/json/);
    const result = (await ok.json() as { result: { structuredContent: { id: string } } }).result;
    expect(result.structuredContent.id).toBe('ORD-001');
    const mismatch = await post(call, currentHeaders('tools/call', 'delete-order'));
    expect(mismatch.status).toBe(400);
    expect((await mismatch.json() as { error: { code: number } }).error.code).toBe(-32020);
  });

  it('401 without a token, before any MCP processing', async () => {
    const res = await post({ method: 'server/discover', params: { _meta: meta(CURRENT) } }, currentHeaders('server/discover'), '');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"$/);
  });

  it('a body that is not JSON gets a JSON-RPC parse error', async () => {
    const res = await fetch(`${svc.url}/mcp`, {
      method: 'POST',
      headers: { 'authorization': `Bearer ${token}`, 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' },
      body: '{"jsonrpc":',
    });
    expect(res.status).toBe(400);
    expect((await res.json() as { error: { code: number } }).error.code).toBe(-32700);
  });
});

describe('the 2025 revisions', () => {
  it('the v1 SDK client (2025 handshake) gets the same tools and results', async () => {
    const client = new LegacyClient({ name: 'legacy', version: '1.0.0' });
    const transport = new LegacyTransport(new URL(`${svc.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    try {
      expect(transport.protocolVersion).toMatch(/^2025-/);
      const got = await client.callTool({ name: 'get-order', arguments: { order_id: 'ORD-001' } });
      expect(got.structuredContent).toEqual(await (await svc.request('/orders/ORD-001', { token })).json());
    } finally {
      await client.close();
    }
  });

  it('raw 2025-06-18 as Foundry sends it: initialize, then tools/call, each answered with JSON', async () => {
    const init = await post({ method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'foundry-like', version: '1' } } });
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toMatch(/application\/json/);
    expect((await init.json() as { result: { protocolVersion: string } }).result.protocolVersion).toBe('2025-06-18');
    const call = await post({ method: 'tools/call', params: { name: 'list-orders', arguments: {} } }, { 'mcp-protocol-version': '2025-06-18' });
    expect(call.status).toBe(200);
    const orders = (await call.json() as { result: { structuredContent: { orders: unknown[] } } }).result.structuredContent.orders;
    expect(orders).toHaveLength(8);
  });
});

describe('the local agent runtime\'s MCP client', () => {
  it('reaches the Orders API with the caller\'s token and calls a tool', async () => {
    const session = mcpToolSession(`${svc.url}/mcp`, token);
    try {
      expect((await session.list()).map((t) => t.name)).toContain('list-orders');
      const outcome = await session.call('get-order', { order_id: 'ORD-002' });
      expect(outcome.ok).toBe(true);
      expect(JSON.parse(outcome.text)).toMatchObject({ id: 'ORD-002', owner_oid: USERS.alice.oid });
    } finally {
      await session.close();
    }
  });

  it('names a refused sign-in without echoing the token', async () => {
    const session = mcpToolSession(`${svc.url}/mcp`, `${token}x`);
    const outcome = await session.call('list-orders', {});
    expect(outcome).toMatchObject({ ok: false, unreachable: false });
    expect(outcome.text).toContain('401');
    expect(outcome.text).not.toContain(token.slice(0, 20));
  });
});

/**
 * The gateway proof (GATEWAY_AUDIENCE + GATEWAY_PRINCIPAL_IDS): with both set, the user's token
 * alone is not enough; the gateway's own app-only token must come in X-Gateway-Authorization.
 * Health, metadata and the OpenAPI document stay open; unset, nothing changes (the other suites).
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsContainToken, startService, type TestService } from './harness.js';
import { ordersConfigFromEnv } from '../../../lib-services/orders-api/config.js';
import { authSettingsFromEnv, ConfigError, createTokenVerifier } from '../../../lib-services/shared/auth/index.js';
import { generateSigningKey, TestIssuer, USERS } from '../../support/issuer.js';

/** The gateway's audience: its app registration's client id (what Entra puts in a v2 token's aud). */
const GATEWAY_AUDIENCE = randomUUID();
/** Principal id of API Management's system identity, and of a second gateway instance. */
const APIM_OID = randomUUID();
const APIM_OID_2 = randomUUID();

let issuer: TestIssuer;
let svc: TestService;
const minted: string[] = [];

const gatewayEnv = { GATEWAY_AUDIENCE, GATEWAY_PRINCIPAL_IDS: `${APIM_OID}, ${APIM_OID_2.toUpperCase()}` };

async function user(u = USERS.alice): Promise<string> {
  const t = await issuer.mint({ user: u });
  minted.push(t);
  return t;
}

async function gatewayToken(overrides: Partial<Parameters<TestIssuer['mintAppOnly']>[0]> = {}): Promise<string> {
  const t = await issuer.mintAppOnly({ audience: GATEWAY_AUDIENCE, principalId: APIM_OID, ...overrides });
  minted.push(t);
  return t;
}

const proof = (token: string) => ({ 'x-gateway-authorization': `Bearer ${token}` });
const snapshot = async () => JSON.stringify(await svc.store.list());

const MCP_CREATE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'create-order', arguments: { customer_name: 'Mallory', product: 'Crowbar', quantity: 1 } },
});
const MCP_HEADERS = { 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' };

/** Every protected route once, mutating ones included. */
async function everyRoute(headers: Record<string, string>): Promise<Response[]> {
  return Promise.all([
    svc.request('/orders', { headers }),
    svc.request('/orders', { method: 'POST', headers, body: JSON.stringify({ customer_name: 'Mallory', product: 'Crowbar', quantity: 1 }) }),
    svc.request('/orders/ORD-001', { headers }),
    svc.request('/orders/ORD-001', { method: 'PUT', headers, body: JSON.stringify({ status: 'delivered' }) }),
    svc.request('/orders/ORD-002', { method: 'DELETE', headers }),
    svc.request('/mcp', { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: MCP_CREATE }),
    svc.request('/mcp', { method: 'GET', headers }),
  ]);
}

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer, { env: gatewayEnv });
});
afterAll(async () => {
  await svc?.close();
  await issuer?.stop();
});

describe('gateway proof required', () => {
  it('refuses the user\'s token alone with 403 gateway_required on every protected route, changing nothing', async () => {
    const before = await snapshot();
    const token = await user();
    for (const res of await everyRoute({ authorization: `Bearer ${token}` })) {
      expect(res.status, res.url).toBe(403);
      expect(res.headers.get('www-authenticate')).toBeNull();
      const body = await res.json();
      expect(body).toEqual({ error: 'gateway_required', message: expect.stringContaining('X-Gateway-Authorization') });
    }
    expect(await snapshot()).toBe(before);
  });

  it('checks the user\'s token first: its normal 401 and 403 come before the gateway proof', async () => {
    const gw = await gatewayToken();
    const none = await svc.request('/orders', { headers: proof(gw) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${svc.url}/.well-known/oauth-protected-resource"`);
    const expired = await svc.request('/mcp', { method: 'POST', headers: { ...MCP_HEADERS, ...proof(gw), authorization: `Bearer ${await issuer.mint({ lifetimeSec: -120 })}` }, body: MCP_CREATE });
    expect(expired.status).toBe(401);
    expect((await expired.json()).error).toBe('invalid_token');
    const wrongScope = await svc.request('/orders', { headers: { ...proof(gw), authorization: `Bearer ${await issuer.mint({ claims: { scp: 'other' } })}` } });
    expect(wrongScope.status).toBe(403);
    expect((await wrongScope.json()).error).toBe('insufficient_scope');
    // The gateway's app-only token is never a user token.
    const appAsUser = await svc.request('/orders', { headers: { ...proof(gw), authorization: `Bearer ${gw}` } });
    expect(appAsUser.status).toBe(401);
    expect((await appAsUser.json()).error).toBe('invalid_token');
  });

  it('serves REST with the user\'s token and a valid gateway token, acting as the user', async () => {
    const headers = { authorization: `Bearer ${await user()}`, ...proof(await gatewayToken()) };
    const list = await svc.request('/orders', { headers });
    expect(list.status).toBe(200);
    const orders = await list.json() as { owner_oid: string }[];
    expect(orders.length).toBeGreaterThan(0);
    expect(orders.every((o) => o.owner_oid === USERS.alice.oid)).toBe(true);
    const created = await svc.request('/orders', { method: 'POST', headers, body: JSON.stringify({ customer_name: 'Alice', product: 'Pen', quantity: 1 }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ owner_oid: USERS.alice.oid, product: 'Pen' });
    // Bob's token with the same gateway token: bob's view, not alice's.
    const bob = await svc.request('/orders', { headers: { ...headers, authorization: `Bearer ${await user(USERS.bob)}` } });
    expect(((await bob.json()) as { owner_oid: string }[]).every((o) => o.owner_oid === USERS.bob.oid)).toBe(true);
    // A second allowed gateway identity (listed in upper case) works too.
    const second = await svc.request('/orders', { headers: { ...headers, ...proof(await gatewayToken({ principalId: APIM_OID_2 })) } });
    expect(second.status).toBe(200);
  });

  it('serves MCP through the official SDK client with both headers', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), {
      requestInit: { headers: { 'Authorization': `Bearer ${await user()}`, 'X-Gateway-Authorization': `Bearer ${await gatewayToken()}` } },
    });
    const client = new Client({ name: 'gateway-proof-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('list-orders');
      const listed = await client.callTool({ name: 'list-orders', arguments: {} }) as { isError?: boolean; structuredContent?: { orders: { owner_oid: string }[] } };
      expect(listed.isError).toBeFalsy();
      expect(listed.structuredContent!.orders.every((o) => o.owner_oid === USERS.alice.oid)).toBe(true);
    } finally {
      await client.close();
    }
    // Without the proof the same client cannot even initialize.
    const bare = new Client({ name: 'gateway-proof-test', version: '1.0.0' });
    await expect(bare.connect(new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${await user()}` } },
    }))).rejects.toThrow();
  });

  it('refuses a bad gateway token with 403 gateway_required and changes nothing', async () => {
    const otherKey = await generateSigningKey(issuer.currentKey.kid);
    const cases: Array<[string, string]> = [
      ['wrong audience', `Bearer ${await gatewayToken({ audience: issuer.audience })}`],
      ['wrong oid', `Bearer ${await gatewayToken({ principalId: randomUUID() })}`],
      ['the user\'s token', `Bearer ${await user()}`],
      ['a user token minted for the gateway audience', `Bearer ${await issuer.mint({ claims: { aud: GATEWAY_AUDIENCE } })}`],
      ['an app token with scp', `Bearer ${await gatewayToken({ claims: { scp: 'user_impersonation' } })}`],
      ['an app token marked as a user token', `Bearer ${await gatewayToken({ claims: { idtyp: 'user' } })}`],
      ['expired', `Bearer ${await gatewayToken({ lifetimeSec: -120 })}`],
      ['not yet valid', `Bearer ${await gatewayToken({ claims: { nbf: Math.floor(Date.now() / 1000) + 600 } })}`],
      ['another tenant', `Bearer ${await gatewayToken({ claims: { tid: randomUUID() } })}`],
      ['another issuer', `Bearer ${await gatewayToken({ claims: { iss: 'https://login.microsoftonline.com/other/v2.0' } })}`],
      ['badly signed', `Bearer ${await gatewayToken({ key: otherKey })}`],
      ['no oid', `Bearer ${await gatewayToken({ claims: { oid: undefined } })}`],
      ['not a bearer scheme', `Basic ${Buffer.from('apim:secret').toString('base64')}`],
      ['empty', 'Bearer '],
      ['garbage', 'Bearer not.a.jwt'],
    ];
    const before = await snapshot();
    const token = await user();
    for (const [name, value] of cases) {
      for (const res of await everyRoute({ 'authorization': `Bearer ${token}`, 'x-gateway-authorization': value })) {
        expect(res.status, `${name}: ${res.url}`).toBe(403);
        expect((await res.json()).error, name).toBe('gateway_required');
      }
    }
    expect(await snapshot()).toBe(before);
  });

  it('keeps health, the RFC 9728 metadata and the OpenAPI document open', async () => {
    expect(await (await svc.request('/health')).json()).toEqual({ status: 'healthy' });
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp', '/openapi.json']) {
      expect((await svc.request(path)).status, path).toBe(200);
    }
  });

  it('never logs either token', () => {
    expect(svc.logs.some((l) => l.includes('gateway proof refused'))).toBe(true);
    expect(logsContainToken(svc.logs, minted)).toBe(false);
  });

  it('ignores X-Gateway-Authorization when the variables are unset', async () => {
    const plain = await startService(issuer);
    try {
      const res = await plain.request('/orders', { token: await user() });
      expect(res.status).toBe(200);
      const withJunk = await plain.request('/orders', { token: await user(), headers: { 'x-gateway-authorization': 'Bearer junk' } });
      expect(withJunk.status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});

describe('app-token mode of the shared verifier', () => {
  it('shares the user tokens\' key cache and keeps its own verified-token cache', async () => {
    const v = createTokenVerifier(authSettingsFromEnv(issuer.env()));
    const expected = { audiences: [GATEWAY_AUDIENCE], principalIds: [APIM_OID] };
    const u = await user();
    const gw = await gatewayToken();
    expect((await v.verify(u)).oid).toBe(USERS.alice.oid);
    expect(await v.verifyAppToken(gw, expected)).toMatchObject({ oid: APIM_OID });
    expect(v.jwksFetches).toBe(1);
    // Verified once as an app token, still no user token; verified once as a user token, still no app token.
    await expect(v.verify(gw)).rejects.toThrow(/audience/);
    await expect(v.verify(await gatewayToken({ audience: issuer.audience, clientId: issuer.clientId }))).rejects.toThrow(/no scp/);
    await expect(v.verifyAppToken(u, expected)).rejects.toThrow(/audience/);
    await expect(v.verifyAppToken(await issuer.mint({ claims: { aud: GATEWAY_AUDIENCE } }), expected)).rejects.toThrow(/has scp/);
    // The allow-list applies to cached results too.
    await expect(v.verifyAppToken(gw, { ...expected, principalIds: [APIM_OID_2] })).rejects.toThrow(/not allowed/);
    expect(v.jwksFetches).toBe(1);
  });
});

describe('gateway proof configuration', () => {
  const env = () => ({ ...issuer.env() });
  const configError = (vars: Record<string, string>): ConfigError => {
    try {
      ordersConfigFromEnv({ ...env(), ...vars });
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('no ConfigError');
  };

  it('reads both variables', () => {
    expect(ordersConfigFromEnv({ ...env(), ...gatewayEnv }).gateway)
      .toEqual({ audience: GATEWAY_AUDIENCE, principalIds: [APIM_OID, APIM_OID_2.toUpperCase()] });
    expect(ordersConfigFromEnv(env()).gateway).toBeUndefined();
    expect(ordersConfigFromEnv({ ...env(), GATEWAY_AUDIENCE: ' ', GATEWAY_PRINCIPAL_IDS: '' }).gateway).toBeUndefined();
  });

  it('refuses one variable without the other, naming the missing one in one line', () => {
    for (const [vars, missing] of [
      [{ GATEWAY_AUDIENCE }, 'GATEWAY_PRINCIPAL_IDS'],
      [{ GATEWAY_PRINCIPAL_IDS: APIM_OID }, 'GATEWAY_AUDIENCE'],
    ] as const) {
      const err = configError(vars);
      expect(err.variable).toBe(missing);
      expect(err.message).toMatch(new RegExp(`^${missing}: [^\\n]+$`));
    }
  });

  it('refuses a principal id that is not a GUID and more than one audience', () => {
    expect(configError({ GATEWAY_AUDIENCE, GATEWAY_PRINCIPAL_IDS: 'apim' }).variable).toBe('GATEWAY_PRINCIPAL_IDS');
    expect(configError({ GATEWAY_AUDIENCE: `${GATEWAY_AUDIENCE},api://other`, GATEWAY_PRINCIPAL_IDS: APIM_OID }).variable).toBe('GATEWAY_AUDIENCE');
  });
});

/** The REST contract over real HTTP on loopback, with tokens from a real JWKS endpoint. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsContainToken, startService, type TestService } from './harness.js';
import { ordersConfigFromEnv } from '../../../lib-services/orders-api/config.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

// The original's data.py, written out again here so the test does not trust the code under test.
const ORIGINAL_SEED = [
  ['ORD-001', 'Alice Johnson', 'Wireless Keyboard', 2, 'delivered', '2025-12-01T10:00:00Z'],
  ['ORD-002', 'Bob Smith', 'USB-C Hub', 1, 'shipped', '2025-12-05T14:30:00Z'],
  ['ORD-003', 'Carol Lee', 'Monitor Stand', 1, 'pending', '2025-12-10T09:15:00Z'],
  ['ORD-004', 'David Kim', 'Mechanical Keyboard', 1, 'shipped', '2025-12-12T11:45:00Z'],
  ['ORD-005', 'Eve Martinez', 'Webcam HD', 3, 'pending', '2025-12-15T08:20:00Z'],
  ['ORD-006', 'Frank Wilson', 'Laptop Sleeve', 2, 'delivered', '2025-12-18T16:00:00Z'],
  ['ORD-007', 'Grace Chen', 'Noise-Cancelling Headphones', 1, 'shipped', '2025-12-20T13:10:00Z'],
  ['ORD-008', 'Hank Brown', 'Ergonomic Mouse', 4, 'pending', '2025-12-22T10:30:00Z'],
].map(([id, customer_name, product, quantity, status, created_at]) => ({ id, customer_name, product, quantity, status, created_at }));

let issuer: TestIssuer;
let svc: TestService;
const tokens: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer);
  for (const name of ['alice', 'bob', 'carol'] as const) tokens[name] = await issuer.mint({ user: USERS[name] });
});
afterAll(async () => {
  await svc?.close();
  await issuer?.stop();
});

async function create(token: string, body: Record<string, unknown> = { customer_name: 'Zed', product: 'Cable', quantity: 2 }) {
  const res = await svc.request('/orders', { method: 'POST', token, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return { order: await res.json(), etag: res.headers.get('etag')! };
}

describe('public routes', () => {
  it('GET /health answers {"status":"healthy"} without a token', async () => {
    const res = await svc.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'healthy' });
  });

  it('serves the OpenAPI 3.1 document generated from the schemas', async () => {
    const doc = await (await svc.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/health', '/orders', '/orders/{id}']);
    expect(doc.components.schemas.CreateOrderRequest.properties.quantity).toMatchObject({ type: 'integer', minimum: 1, maximum: 100000 });
    expect(doc.components.schemas.UpdateOrderRequest.properties.status.enum).toEqual(['pending', 'shipped', 'delivered']);
    expect(doc.servers).toEqual([{ url: svc.url }]);
  });

  it('serves RFC 9728 metadata for the API and for /mcp, honouring X-Forwarded-*', async () => {
    const md = await (await svc.request('/.well-known/oauth-protected-resource')).json();
    expect(md).toEqual({
      resource: svc.url,
      authorization_servers: [`https://login.microsoftonline.com/${issuer.tenantId}/v2.0`, `https://sts.windows.net/${issuer.tenantId}/`, issuer.issuer],
      bearer_methods_supported: ['header'],
      scopes_supported: [`${issuer.audience}/${issuer.scope}`],
    });
    const fwd = await (await svc.request('/.well-known/oauth-protected-resource/mcp', {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'orders.example.net' },
    })).json();
    expect(fwd.resource).toBe('https://orders.example.net/mcp');
    const res = await svc.request('/orders', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'orders.example.net' } });
    expect(res.headers.get('www-authenticate')).toBe('Bearer resource_metadata="https://orders.example.net/.well-known/oauth-protected-resource"');
  });

  it('uses PUBLIC_BASE_URL as the resource when set, for MCP and (without PUBLIC_REST_BASE_URL) REST', async () => {
    const other = await startService(issuer, { env: { PUBLIC_BASE_URL: 'https://apim.example.net/orders/' } });
    try {
      expect((await (await other.request('/.well-known/oauth-protected-resource/mcp')).json()).resource).toBe('https://apim.example.net/orders/mcp');
      expect((await other.request('/mcp', { method: 'POST' })).headers.get('www-authenticate'))
        .toBe('Bearer resource_metadata="https://apim.example.net/.well-known/oauth-protected-resource/orders/mcp"');
      expect((await (await other.request('/.well-known/oauth-protected-resource')).json()).resource).toBe('https://apim.example.net/orders');
      expect((await other.request('/orders')).headers.get('www-authenticate'))
        .toBe('Bearer resource_metadata="https://apim.example.net/.well-known/oauth-protected-resource/orders"');
      expect((await (await other.request('/openapi.json')).json()).servers).toEqual([{ url: 'https://apim.example.net/orders' }]);
    } finally {
      await other.close();
    }
  });

  it('PUBLIC_REST_BASE_URL: REST challenges, metadata and servers use it; MCP keeps PUBLIC_BASE_URL', async () => {
    // As the stack sets them behind API Management: MCP at /orders-mcp, REST at /orders-api.
    const gw = 'https://apim.example.net';
    const other = await startService(issuer, { env: { PUBLIC_BASE_URL: `${gw}/orders-mcp`, PUBLIC_REST_BASE_URL: `${gw}/orders-api/` } });
    try {
      const none = await other.request('/orders');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${gw}/.well-known/oauth-protected-resource/orders-api"`);
      const bad = await other.request('/orders/ORD-001', { token: `${tokens.alice.slice(0, -4)}AAAA` });
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token", resource_metadata="${gw}/.well-known/oauth-protected-resource/orders-api"`);
      expect((await (await other.request('/.well-known/oauth-protected-resource')).json()).resource).toBe(`${gw}/orders-api`);
      expect((await (await other.request('/openapi.json')).json()).servers).toEqual([{ url: `${gw}/orders-api` }]);
      // MCP is untouched.
      expect((await (await other.request('/.well-known/oauth-protected-resource/mcp')).json()).resource).toBe(`${gw}/orders-mcp/mcp`);
      expect((await other.request('/mcp', { method: 'POST' })).headers.get('www-authenticate'))
        .toBe(`Bearer resource_metadata="${gw}/.well-known/oauth-protected-resource/orders-mcp/mcp"`);
      // The routes themselves are unchanged.
      expect((await other.request('/orders', { token: tokens.alice })).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('refuses a PUBLIC_REST_BASE_URL that is not an http(s) URL without query or fragment, naming it', () => {
    for (const bad of ['apim.example.net/orders-api', 'ftp://apim.example.net/orders-api', 'https://apim.example.net/orders-api?x=1', 'https://apim.example.net/orders-api#f']) {
      expect(() => ordersConfigFromEnv({ ...issuer.env(), PUBLIC_REST_BASE_URL: bad }), bad).toThrow(/^PUBLIC_REST_BASE_URL: .* must be an http\(s\) URL without query or fragment$/);
    }
    expect(ordersConfigFromEnv({ ...issuer.env(), PUBLIC_BASE_URL: 'https://apim.example.net/orders-mcp/' }).publicRestBaseUrl).toBe('https://apim.example.net/orders-mcp');
  });

  it('answers unknown routes and wrong methods with {error, message}', async () => {
    const res = await svc.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found', message: expect.any(String) });
    const m = await svc.request('/orders', { method: 'PATCH', token: tokens.alice });
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET, POST');
    expect(await m.json()).toMatchObject({ error: 'method_not_allowed' });
    expect((await svc.request('/health', { method: 'POST' })).status).toBe(405);
  });
});

describe('orders as the caller', () => {
  it('seeds the original 8 orders verbatim for the seed owner', async () => {
    const list = await (await svc.request('/orders', { token: tokens.alice })).json();
    const seeds = list.filter((o: { id: string }) => /^ORD-00[1-8]$/.test(o.id));
    expect(seeds.map(({ id, customer_name, product, quantity, status, created_at }: Record<string, unknown>) =>
      ({ id, customer_name, product, quantity, status, created_at }))).toEqual(ORIGINAL_SEED);
    expect(seeds.every((o: { owner_oid: string }) => o.owner_oid === USERS.alice.oid)).toBe(true);
  });

  it('creates, reads, updates and deletes an order with ETags; server-owned fields are ignored', async () => {
    const { order, etag } = await create(tokens.bob, {
      customer_name: '  Bob Berg  ', product: 'Dock', quantity: 3, status: 'delivered', id: 'ORD-001', owner_oid: USERS.alice.oid, created_at: '2000-01-01T00:00:00Z',
    });
    expect(order).toMatchObject({ customer_name: 'Bob Berg', product: 'Dock', quantity: 3, status: 'pending', owner_oid: USERS.bob.oid, owner_name: USERS.bob.name });
    expect(order.id).toMatch(/^ORD-[0-9A-Z]{10}$/);
    expect(order.created_at).not.toBe('2000-01-01T00:00:00Z');
    expect(etag).toMatch(/^"[^"]+"$/);

    const got = await svc.request(`/orders/${order.id}`, { token: tokens.bob });
    expect(got.headers.get('etag')).toBe(etag);

    const put = await svc.request(`/orders/${order.id}`, { method: 'PUT', token: tokens.bob, headers: { 'if-match': etag }, body: JSON.stringify({ status: 'shipped' }) });
    expect(put.status).toBe(200);
    const updated = await put.json();
    expect(updated).toMatchObject({ status: 'shipped', quantity: 3, product: 'Dock' });
    const newEtag = put.headers.get('etag');
    expect(newEtag).not.toBe(etag);

    const stale = await svc.request(`/orders/${order.id}`, { method: 'PUT', token: tokens.bob, headers: { 'if-match': etag }, body: JSON.stringify({ quantity: 9 }) });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ error: 'precondition_failed' });
    const staleDelete = await svc.request(`/orders/${order.id}`, { method: 'DELETE', token: tokens.bob, headers: { 'if-match': etag } });
    expect(staleDelete.status).toBe(412);
    expect((await (await svc.request(`/orders/${order.id}`, { token: tokens.bob })).json()).quantity).toBe(3);

    const del = await svc.request(`/orders/${order.id}`, { method: 'DELETE', token: tokens.bob, headers: { 'if-match': newEtag! } });
    expect(del.status).toBe(204);
    expect((await svc.request(`/orders/${order.id}`, { token: tokens.bob })).status).toBe(404);
  });

  it('lists only the caller\'s orders; an admin sees all', async () => {
    const { order } = await create(tokens.bob);
    const bobs = await (await svc.request('/orders', { token: tokens.bob })).json();
    expect(bobs.every((o: { owner_oid: string }) => o.owner_oid === USERS.bob.oid)).toBe(true);
    expect(bobs.map((o: { id: string }) => o.id)).toContain(order.id);
    const alices = await (await svc.request('/orders', { token: tokens.alice })).json();
    expect(alices.map((o: { id: string }) => o.id)).not.toContain(order.id);
    const all = await (await svc.request('/orders', { token: tokens.carol })).json();
    expect(all.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining([order.id, 'ORD-001']));
  });

  it('alice cannot read, update or delete bob\'s order (404, unchanged); the admin can', async () => {
    const { order } = await create(tokens.bob);
    const path = `/orders/${order.id}`;
    const r = await svc.request(path, { token: tokens.alice });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'not_found', message: `Order ${order.id} not found` });
    expect((await svc.request(path, { method: 'PUT', token: tokens.alice, body: JSON.stringify({ quantity: 7 }) })).status).toBe(404);
    expect((await svc.request(path, { method: 'DELETE', token: tokens.alice })).status).toBe(404);
    expect(await (await svc.request(path, { token: tokens.bob })).json()).toEqual(order);
    // "Not yours" and "absent" look the same.
    expect(await (await svc.request('/orders/ORD-ZZZZZZZZZZ', { token: tokens.alice })).json()).toEqual({ error: 'not_found', message: 'Order ORD-ZZZZZZZZZZ not found' });

    const adminPut = await svc.request(path, { method: 'PUT', token: tokens.carol, body: JSON.stringify({ quantity: 7 }) });
    expect(adminPut.status).toBe(200);
    expect(await adminPut.json()).toMatchObject({ quantity: 7, owner_oid: USERS.bob.oid });
    expect((await svc.request(path, { method: 'DELETE', token: tokens.carol })).status).toBe(204);
  });

  it('rejects bad input with 400 naming the field and changes nothing', async () => {
    const before = await (await svc.request('/orders', { token: tokens.carol })).json();
    const cases: [string, string][] = [
      [JSON.stringify({ product: 'x', quantity: 1 }), 'customer_name'],
      [JSON.stringify({ customer_name: '   ', product: 'x', quantity: 1 }), 'customer_name'],
      [JSON.stringify({ customer_name: 'a', product: 'x'.repeat(201), quantity: 1 }), 'product'],
      [JSON.stringify({ customer_name: 'a', product: 'x', quantity: 0 }), 'quantity'],
      [JSON.stringify({ customer_name: 'a', product: 'x', quantity: 1.5 }), 'quantity'],
      [JSON.stringify({ customer_name: 'a', product: 'x', quantity: '2' }), 'quantity'],
      ['not json', 'body'],
      ['[1,2]', 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await svc.request('/orders', { method: 'POST', token: tokens.alice, body });
      expect(res.status, body).toBe(400);
      const err = await res.json();
      expect(err.error).toBe('invalid_request');
      expect(err.message).toContain(field);
    }
    const put = await svc.request('/orders/ORD-001', { method: 'PUT', token: tokens.alice, body: JSON.stringify({ id: 'ORD-999', owner_oid: 'x' }) });
    expect(put.status).toBe(400);
    const badStatus = await svc.request('/orders/ORD-001', { method: 'PUT', token: tokens.alice, body: JSON.stringify({ status: 'lost' }) });
    expect(badStatus.status).toBe(400);
    expect((await badStatus.json()).message).toContain('status');
    expect(await (await svc.request('/orders', { token: tokens.carol })).json()).toEqual(before);
  });

  it('refuses bodies over 64 KiB with 413', async () => {
    const res = await svc.request('/orders', {
      method: 'POST', token: tokens.alice, body: JSON.stringify({ customer_name: 'a', product: 'b', quantity: 1, pad: 'x'.repeat(70_000) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large' });
  });
});

describe('observability', () => {
  it('echoes X-Request-ID, continues traceparent, logs the path without query and writes an audit line per write', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await svc.request('/orders?secret=shh', {
      method: 'POST',
      token: tokens.alice,
      headers: { 'x-request-id': 'req-abc-123', 'traceparent': `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ customer_name: 'Log', product: 'Test', quantity: 1 }),
    });
    expect(res.status).toBe(201);
    const order = await res.json();
    expect(res.headers.get('x-request-id')).toBe('req-abc-123');
    expect(res.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const lines = svc.logs.map((l) => JSON.parse(l));
    const access = lines.find((l) => l.msg === 'request' && l.request_id === 'req-abc-123');
    expect(access).toMatchObject({ method: 'POST', path: '/orders', status: 201, trace_id: traceId, caller_oid: USERS.alice.oid });
    const audit = lines.filter((l) => l.msg === 'audit' && l.request_id === 'req-abc-123');
    expect(audit).toEqual([expect.objectContaining({ caller_oid: USERS.alice.oid, operation: 'create', order_id: order.id, outcome: 'success', time: expect.any(String) })]);
    expect(svc.logs.join('')).not.toContain('shh');
    const generated = await svc.request('/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('audits refused writes too', async () => {
    await svc.request('/orders/ORD-001', { method: 'DELETE', token: tokens.bob, headers: { 'x-request-id': 'req-denied' } });
    const audit = svc.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit' && l.request_id === 'req-denied');
    expect(audit).toEqual([expect.objectContaining({ caller_oid: USERS.bob.oid, operation: 'delete', order_id: 'ORD-001', outcome: 'not_found' })]);
  });

  it('no log line contains any token text', () => {
    expect(svc.logs.length).toBeGreaterThan(10);
    expect(logsContainToken(svc.logs, Object.values(tokens))).toBe(false);
    // The check itself works.
    expect(logsContainToken([...svc.logs, `x${tokens.bob}`], Object.values(tokens))).toBe(true);
  });
});

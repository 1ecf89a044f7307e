/** Property-based bad input (fast-check) over REST and MCP: never a 5xx, never a change on a rejected request. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './harness.js';
import { TestIssuer } from '../../support/issuer.js';

let issuer: TestIssuer;
let svc: TestService;
let token: string;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer);
  token = await issuer.mint();
});
afterAll(async () => {
  await svc?.close();
  await issuer?.stop();
});

const snapshot = async () => JSON.stringify(await svc.store.list());
const RUNS = { numRuns: 60 };

// Values that are wrong for at least one field: bad types, bounds, blanks, odd unicode.
const badValue = fc.oneof(
  fc.constant(null), fc.boolean(), fc.double().filter((d) => !Number.isInteger(d)), fc.integer({ min: -1e9, max: 0 }), fc.integer({ min: 100_001 }),
  fc.constant(''), fc.constant('   '), fc.string({ minLength: 201, maxLength: 400 }), fc.array(fc.anything(), { maxLength: 3 }), fc.object({ maxDepth: 1 }),
);
const badCreateBody = fc.record({
  customer_name: fc.oneof(badValue, fc.string({ minLength: 1, maxLength: 20 })),
  product: fc.oneof(badValue, fc.string({ minLength: 1, maxLength: 20 })),
  quantity: badValue,
}, { requiredKeys: [] });
const notAStatus = fc.string().filter((s) => !['pending', 'shipped', 'delivered'].includes(s));
const anyId = fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^ORD-[0-9A-Z]{0,40}$/), fc.constantFrom('ORD-001', '..', '%2e%2e', 'ORD-001/x'));

describe('bad input never breaks the service', () => {
  it('REST POST /orders with bad bodies: 400, never 5xx, nothing created', async () => {
    const before = await snapshot();
    await fc.assert(fc.asyncProperty(fc.oneof(badCreateBody.map((b) => JSON.stringify(b)), fc.string({ maxLength: 200 })), async (body) => {
      const res = await svc.request('/orders', { method: 'POST', token, body });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_request', message: expect.any(String) });
    }), RUNS);
    expect(await snapshot()).toBe(before);
  });

  it('REST PUT with bad bodies and any ids: 4xx only, nothing changes', async () => {
    const before = await snapshot();
    const badPatch = fc.record(
      { customer_name: badValue, product: badValue, quantity: badValue, status: fc.oneof(badValue, notAStatus) },
      { requiredKeys: [] },
    );
    await fc.assert(fc.asyncProperty(anyId, badPatch, async (id, patch) => {
      const res = await svc.request(`/orders/${encodeURIComponent(id)}`, { method: 'PUT', token, body: JSON.stringify(patch) });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }), RUNS);
    expect(await snapshot()).toBe(before);
  });

  it('REST GET/DELETE with arbitrary ids and query strings: never 5xx; unknown ids are 404', async () => {
    await fc.assert(fc.asyncProperty(anyId, fc.string({ maxLength: 60 }), async (id, query) => {
      const path = `/orders/${encodeURIComponent(id)}?${encodeURIComponent(query)}`;
      const get = await svc.request(path, { token });
      expect(get.status).toBeLessThan(500);
      if (id !== 'ORD-001') expect([404, 400]).toContain(get.status);
      const list = await svc.request(`/orders?${query.replace(/#/g, '')}`, { token });
      expect(list.status).toBe(200);
    }), RUNS);
    const before = await snapshot();
    await fc.assert(fc.asyncProperty(anyId.filter((id) => id !== 'ORD-001'), async (id) => {
      const del = await svc.request(`/orders/${encodeURIComponent(id)}`, { method: 'DELETE', token });
      expect(del.status).toBeLessThan(500);
    }), RUNS);
    expect(await snapshot()).toBe(before);
  });

  it('MCP tools/call with bad arguments: a tool error or JSON-RPC error, never 5xx, nothing changes', async () => {
    const before = await snapshot();
    const toolName = fc.constantFrom('create-order', 'update-order', 'get-order', 'delete-order', 'list-orders', 'no-such-tool');
    // Not an existing order's id: `{ order_id: 'ORD-001' }` alone is a valid get-order (or delete-order) call.
    const notASeedId = anyId.filter((id) => !/^ORD-00[1-8]$/.test(id));
    const badUpdateArgs = fc.record({ order_id: fc.oneof(notASeedId, badValue), quantity: badValue, status: notAStatus }, { requiredKeys: [] });
    const args = fc.oneof(badCreateBody, badUpdateArgs, fc.anything());
    await fc.assert(fc.asyncProperty(toolName, args, async (name, a) => {
      const res = await svc.request('/mcp', {
        method: 'POST',
        token,
        headers: { accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: a } }),
      });
      expect(res.status).toBeLessThan(500);
      const rpc = await res.json();
      if (rpc.result && name !== 'list-orders') {
        // A create with accidentally valid arguments would change state; the generators never produce one.
        expect(rpc.result.isError, JSON.stringify(a)).toBe(true);
      }
    }), RUNS);
    expect(await snapshot()).toBe(before);
  });
});

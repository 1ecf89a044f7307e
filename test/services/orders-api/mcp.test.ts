/** MCP through the official SDK client with a bearer token: list the tools, call each, authorize as REST. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './harness.js';
import { TestIssuer, USERS, type TestUser } from '../../support/issuer.js';

let issuer: TestIssuer;
let svc: TestService;
const clients: Client[] = [];

async function connect(user: TestUser): Promise<Client> {
  const token = await issuer.mint({ user });
  const transport = new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'orders-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text?: string }[];
  _meta?: Record<string, unknown>;
};
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as ToolResult;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  svc = await startService(issuer);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await svc?.close();
  await issuer?.stop();
});

describe('MCP tools', () => {
  it('lists the six tools with descriptions and input schemas from the shared schemas', async () => {
    const alice = await connect(USERS.alice);
    const { tools } = await alice.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create-order', 'delete-order', 'get-order', 'health-check', 'list-orders', 'update-order']);
    for (const t of tools) expect(t.description!.length).toBeGreaterThan(20);
    const create = tools.find((t) => t.name === 'create-order')!;
    expect(create.inputSchema.required).toEqual(['customer_name', 'product', 'quantity']);
    expect(create.inputSchema.properties!.quantity).toMatchObject({ type: 'integer', minimum: 1, maximum: 100000 });
    const update = tools.find((t) => t.name === 'update-order')!;
    expect((update.inputSchema.properties!.status as { enum: string[] }).enum).toEqual(['pending', 'shipped', 'delivered']);
  });

  it('calls each tool as the caller, with REST-equal results as text and structured content', async () => {
    const alice = await connect(USERS.alice);
    expect((await call(alice, 'health-check')).structuredContent).toEqual({ status: 'healthy' });

    const created = await call(alice, 'create-order', { customer_name: 'Alice Anders', product: 'Pen', quantity: 5 });
    expect(created.isError).toBeFalsy();
    const order = created.structuredContent!;
    expect(order).toMatchObject({ product: 'Pen', quantity: 5, status: 'pending', owner_oid: USERS.alice.oid });
    expect(JSON.parse(created.content[0].text!)).toEqual(order);
    const rest = await svc.request(`/orders/${order.id}`, { token: await issuer.mint() });
    expect(await rest.json()).toEqual(order);

    const got = await call(alice, 'get-order', { order_id: order.id });
    expect(got.structuredContent).toEqual(order);
    expect(got._meta?.etag).toBe(rest.headers.get('etag'));

    const listed = await call(alice, 'list-orders');
    expect((listed.structuredContent!.orders as { id: string }[]).map((o) => o.id)).toContain(order.id);
    expect(JSON.parse(listed.content[0].text!)).toEqual(await (await svc.request('/orders', { token: await issuer.mint() })).json());

    const updated = await call(alice, 'update-order', { order_id: order.id, status: 'shipped' });
    expect(updated.structuredContent).toMatchObject({ id: order.id, status: 'shipped', quantity: 5 });

    const stale = await call(alice, 'update-order', { order_id: order.id, quantity: 1, if_match: got._meta!.etag });
    expect(stale.isError).toBe(true);
    expect(stale.structuredContent).toMatchObject({ error: 'precondition_failed' });

    const deleted = await call(alice, 'delete-order', { order_id: order.id });
    expect(deleted.structuredContent).toEqual({ id: order.id, deleted: true });
    const gone = await call(alice, 'get-order', { order_id: order.id });
    expect(gone.isError).toBe(true);
    expect(JSON.parse(gone.content[0].text!)).toEqual({ error: 'not_found', message: `Order ${order.id} not found` });
  });

  it('authorizes exactly as REST: alice cannot touch bob\'s order, the admin can', async () => {
    const bob = await connect(USERS.bob);
    const alice = await connect(USERS.alice);
    const carol = await connect(USERS.carol);
    const order = (await call(bob, 'create-order', { customer_name: 'Bob', product: 'Lamp', quantity: 1 })).structuredContent!;
    for (const [tool, args] of [
      ['get-order', { order_id: order.id }], ['update-order', { order_id: order.id, quantity: 99 }], ['delete-order', { order_id: order.id }],
    ] as const) {
      const r = await call(alice, tool, args);
      expect(r.isError, tool).toBe(true);
      expect(r.structuredContent).toMatchObject({ error: 'not_found' });
    }
    expect(((await call(alice, 'list-orders')).structuredContent!.orders as { id: string }[]).map((o) => o.id)).not.toContain(order.id);
    expect((await call(bob, 'get-order', { order_id: order.id })).structuredContent).toEqual(order);
    expect((await call(carol, 'update-order', { order_id: order.id, quantity: 2 })).structuredContent).toMatchObject({ quantity: 2, owner_oid: USERS.bob.oid });
    expect((await call(carol, 'delete-order', { order_id: order.id })).isError).toBeFalsy();
  });

  it('answers bad input as a tool error, not a protocol failure, and changes nothing', async () => {
    const alice = await connect(USERS.alice);
    const before = JSON.stringify(await svc.store.list());
    for (const args of [{ customer_name: '', product: 'x', quantity: 1 }, { customer_name: 'a', product: 'x', quantity: 0 }, { product: 'x' }]) {
      const r = await call(alice, 'create-order', args);
      expect(r.isError).toBe(true);
      expect(r.content[0].text).toMatch(/customer_name|quantity/);
    }
    const noField = await call(alice, 'update-order', { order_id: 'ORD-001' });
    expect(noField.isError).toBe(true);
    expect(noField.structuredContent).toMatchObject({ error: 'invalid_request' });
    expect((await call(alice, 'get-order', { order_id: '../../etc' })).isError).toBe(true);
    expect(JSON.stringify(await svc.store.list())).toBe(before);
  });
});

// A stand-in MCP server for the agent runtime's unit tests: it records which bearer reached it.
// The end-to-end tests use the real Orders API instead.
import type { AddressInfo } from 'node:net';
/* eslint-disable import/no-unresolved -- the MCP SDK's subpaths resolve through package "exports", which the lint resolver does not read */
import { serve, type ServerType } from '@hono/node-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import { z } from 'zod';

export interface FakeOrders { url: string; bearers: string[]; calls: string[]; close(): Promise<void> }

export async function startFakeOrdersMcp(): Promise<FakeOrders> {
  const orders = [{ id: 'ORD-001', customer_name: 'Alice Johnson', product: 'Laptop', quantity: 1, status: 'pending' }];
  const bearers: string[] = [];
  const calls: string[] = [];
  const result = (value: unknown, isError = false) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }], isError });
  const notFound = (id: string) => result({ error: 'not_found', message: `order ${id} not found` }, true);
  const app = new Hono();
  app.all('/mcp', async (c) => {
    const auth = c.req.header('authorization');
    if (!auth?.startsWith('Bearer ')) return c.json({ error: 'unauthorized', message: 'no token' }, 401);
    bearers.push(auth.slice(7));
    const server = new McpServer({ name: 'fake-orders', version: '0.0.1' });
    const track = (name: string) => calls.push(name);
    server.registerTool('list-orders', { description: 'List orders', inputSchema: {} }, async () => { track('list-orders'); return result(orders); });
    server.registerTool('get-order', { description: 'Get one order', inputSchema: { order_id: z.string() } }, async ({ order_id }) => {
      track('get-order');
      const o = orders.find((x) => x.id === order_id);
      return o ? result(o) : notFound(order_id);
    });
    server.registerTool('create-order', {
      description: 'Create an order', inputSchema: { customer_name: z.string(), product: z.string(), quantity: z.number().int() },
    }, async (args) => {
      track('create-order');
      const o = { id: `ORD-${String(orders.length + 1).padStart(3, '0')}`, status: 'pending', ...args };
      orders.push(o);
      return result(o);
    });
    server.registerTool('update-order', { description: 'Update', inputSchema: { order_id: z.string(), status: z.string().optional() } }, async ({ order_id, status }) => {
      track('update-order');
      const o = orders.find((x) => x.id === order_id);
      if (!o) return notFound(order_id);
      if (status) o.status = status;
      return result(o);
    });
    server.registerTool('delete-order', { description: 'Delete', inputSchema: { order_id: z.string() } }, async ({ order_id }) => {
      track('delete-order');
      const i = orders.findIndex((x) => x.id === order_id);
      if (i < 0) return notFound(order_id);
      orders.splice(i, 1);
      return result({ deleted: order_id });
    });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw);
  });
  const server: ServerType = await new Promise((ok) => { const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => ok(s)); });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    bearers,
    calls,
    close: () => new Promise((ok) => { server.close(() => ok()); (server as { closeAllConnections?: () => void }).closeAllConnections?.(); }),
  };
}

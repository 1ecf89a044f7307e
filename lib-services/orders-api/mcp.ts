/**
 * The MCP face of the Orders API: one stateless server per request, acting as the verified caller.
 * app.ts imports this module on the first /mcp request, so the MCP SDK (with its own zod copies
 * and ajv) and our zod schemas stay off the service's start-up path.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { API_VERSION } from './openapi.js';
import { stampToolResults, type IdentityReceipt } from './receipt.js';
import { createOrderShape, orderIdSchema, updateOrderShape } from './schemas.js';
import { DomainError, type CallContext, type OrderService } from './service.js';
import type { Principal } from '../shared/auth/index.js';

export const MCP_TOOL_NAMES = ['list-orders', 'get-order', 'create-order', 'update-order', 'delete-order', 'health-check'] as const;

const ifMatchSchema = z.string().max(200).optional()
  .describe('Optional ETag from get-order; the change is refused if the order changed since');

function ok(value: unknown, structured: Record<string, unknown>, meta?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: structured, ...(meta ? { _meta: meta } : {}) };
}

function toolError(err: DomainError): CallToolResult {
  const body = { error: err.code, message: err.message };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
}

/** Domain failures become tool errors the model can read; anything else stays a server failure. */
async function run(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError) return toolError(err);
    throw err;
  }
}

export function createMcpServer(service: OrderService, principal: Principal, ctx: CallContext, version: string): McpServer {
  const server = new McpServer({ name: 'orders-api', version }, { capabilities: { tools: {} } });

  server.registerTool('list-orders', {
    title: 'List orders',
    description: 'List the orders of the signed-in user (an administrator sees every order). '
      + 'Returns id, customer_name, product, quantity, status and timestamps for each order.',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  }, async () => run(async () => {
    const orders = await service.list(principal);
    return ok(orders, { orders });
  }));

  server.registerTool('get-order', {
    title: 'Get an order',
    description: 'Get one order of the signed-in user by its id (for example ORD-001). '
      + 'Fails with not_found when the order does not exist or belongs to someone else.',
    inputSchema: { order_id: orderIdSchema },
    annotations: { readOnlyHint: true },
  }, async ({ order_id: id }) => run(async () => {
    const { order, etag } = await service.get(principal, id);
    return ok(order, order, { etag });
  }));

  server.registerTool('create-order', {
    title: 'Create an order',
    description: 'Create a new order owned by the signed-in user. Needs customer_name, product and quantity (1 to 100000). '
      + 'New orders start as pending; the id is assigned by the service.',
    inputSchema: createOrderShape,
  }, async (input) => run(async () => {
    const { order, etag } = await service.create(principal, input, ctx);
    return ok(order, order, { etag });
  }));

  server.registerTool('update-order', {
    title: 'Update an order',
    description: 'Change one or more fields (customer_name, product, quantity, status: pending, shipped or delivered) '
      + 'of an order of the signed-in user. Fields not given stay as they are.',
    inputSchema: { order_id: orderIdSchema, ...updateOrderShape, if_match: ifMatchSchema },
    annotations: { idempotentHint: true },
  }, async ({ order_id: id, if_match: ifMatch, ...patch }) => run(async () => {
    const { order, etag } = await service.update(principal, id, patch, ifMatch, ctx);
    return ok(order, order, { etag });
  }));

  server.registerTool('delete-order', {
    title: 'Delete an order',
    description: 'Delete an order of the signed-in user by its id. This cannot be undone.',
    inputSchema: { order_id: orderIdSchema, if_match: ifMatchSchema },
    annotations: { destructiveHint: true },
  }, async ({ order_id: id, if_match: ifMatch }) => run(async () => {
    await service.delete(principal, id, ifMatch, ctx);
    const result = { id, deleted: true };
    return ok(result, result);
  }));

  server.registerTool('health-check', {
    title: 'Health check',
    description: 'Check that the Orders API is up.',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  }, async () => ok({ status: 'healthy' }, { status: 'healthy' }));

  return server;
}

/** Serves one MCP Streamable HTTP POST, stateless: a fresh server and transport per request. */
export async function handleMcpRequest(
  request: Request, service: OrderService, principal: Principal, ctx: CallContext, receipt?: IdentityReceipt,
): Promise<Response> {
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  if (receipt) stampToolResults(transport, receipt);
  const server = createMcpServer(service, principal, ctx, API_VERSION);
  await server.connect(transport);
  try {
    const { token, clientId, scopes, expiresAt, oid } = principal;
    return await transport.handleRequest(request, { authInfo: { token, clientId, scopes, expiresAt, extra: { oid } } });
  } finally {
    void server.close();
  }
}

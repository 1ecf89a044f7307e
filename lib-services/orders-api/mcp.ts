/**
 * The MCP face of the Orders API: one stateless server per request, acting as the verified caller,
 * through the official SDK's current major (`@modelcontextprotocol/server`). One endpoint serves
 * the current revision (2026-07-28: no initialize, version and capabilities in every request's
 * `_meta`, `server/discover`, the `Mcp-Method` / `Mcp-Name` headers checked against the body) and
 * the 2025 revisions (initialize, then one POST per message) that Foundry and API Management speak.
 * app.ts imports this module on the first /mcp request, so the SDK and our zod schemas stay off
 * the service's start-up path.
 */
import {
  createMcpHandler, isLegacyRequest, McpServer, WebStandardStreamableHTTPServerTransport,
  type AuthInfo, type CallToolResult, type McpHttpHandler,
} from '@modelcontextprotocol/server';
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
    inputSchema: z.object({}),
    annotations: { readOnlyHint: true },
  }, async () => run(async () => {
    const orders = await service.list(principal);
    return ok(orders, { orders });
  }));

  server.registerTool('get-order', {
    title: 'Get an order',
    description: 'Get one order of the signed-in user by its id (for example ORD-001). '
      + 'Fails with not_found when the order does not exist or belongs to someone else.',
    inputSchema: z.object({ order_id: orderIdSchema }),
    annotations: { readOnlyHint: true },
  }, async ({ order_id: id }) => run(async () => {
    const { order, etag } = await service.get(principal, id);
    return ok(order, order, { etag });
  }));

  server.registerTool('create-order', {
    title: 'Create an order',
    description: 'Create a new order owned by the signed-in user. Needs customer_name, product and quantity (1 to 100000). '
      + 'New orders start as pending; the id is assigned by the service.',
    inputSchema: z.object(createOrderShape),
  }, async (input) => run(async () => {
    const { order, etag } = await service.create(principal, input, ctx);
    return ok(order, order, { etag });
  }));

  server.registerTool('update-order', {
    title: 'Update an order',
    description: 'Change one or more fields (customer_name, product, quantity, status: pending, shipped or delivered) '
      + 'of an order of the signed-in user. Fields not given stay as they are.',
    inputSchema: z.object({ order_id: orderIdSchema, ...updateOrderShape, if_match: ifMatchSchema }),
    annotations: { idempotentHint: true },
  }, async ({ order_id: id, if_match: ifMatch, ...patch }) => run(async () => {
    const { order, etag } = await service.update(principal, id, patch, ifMatch, ctx);
    return ok(order, order, { etag });
  }));

  server.registerTool('delete-order', {
    title: 'Delete an order',
    description: 'Delete an order of the signed-in user by its id. This cannot be undone.',
    inputSchema: z.object({ order_id: orderIdSchema, if_match: ifMatchSchema }),
    annotations: { destructiveHint: true },
  }, async ({ order_id: id, if_match: ifMatch }) => run(async () => {
    await service.delete(principal, id, ifMatch, ctx);
    const result = { id, deleted: true };
    return ok(result, result);
  }));

  server.registerTool('health-check', {
    title: 'Health check',
    description: 'Check that the Orders API is up.',
    inputSchema: z.object({}),
    annotations: { readOnlyHint: true },
  }, async () => ok({ status: 'healthy' }, { status: 'healthy' }));

  return server;
}

/** What one request's server acts as; travels to the factory inside the SDK's pass-through authInfo. */
interface Call { principal: Principal; ctx: CallContext; receipt?: IdentityReceipt }
type CallAuthInfo = AuthInfo & { extra: { oid: string; call: Call } };

function authInfoOf(call: Call): CallAuthInfo {
  const { token, clientId, scopes, expiresAt, oid } = call.principal;
  return { token, clientId, scopes, expiresAt, extra: { oid, call } };
}

/**
 * The server for one call. With a receipt, every transport the server is connected to (ours for
 * the 2025 revisions, the SDK's per-request one for the current revision) stamps it on each tool
 * result it sends, the SDK's own error results included.
 */
function serverFor(service: OrderService, { principal, ctx, receipt }: Call): McpServer {
  const server = createMcpServer(service, principal, ctx, API_VERSION);
  if (receipt) {
    const connect = server.connect.bind(server);
    server.connect = (transport) => connect(stampToolResults(transport, receipt));
  }
  return server;
}

/** The current revision's leg: strict (2025 traffic never reaches it); a JSON answer, as no tool sends notifications. */
const modernHandlers = new WeakMap<OrderService, McpHttpHandler>();
function modernHandler(service: OrderService): McpHttpHandler {
  let handler = modernHandlers.get(service);
  if (!handler) {
    handler = createMcpHandler(({ authInfo }) => serverFor(service, (authInfo as CallAuthInfo).extra.call), { legacy: 'reject' });
    modernHandlers.set(service, handler);
  }
  return handler;
}

/** JSON-RPC's parse error, as the SDK answers a body that is not JSON. */
function parseError(): Response {
  return Response.json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not JSON' }, id: null }, { status: 400 });
}

/**
 * Serves one MCP Streamable HTTP POST, stateless, in either era. `parsedBody` is the request's
 * body, read and parsed once by the app (undefined: not JSON) and handed to the SDK as is (so it
 * neither clones nor re-reads the request). 2025 revisions get a fresh server and transport with
 * a JSON answer (no SSE, as before); the current revision goes to the SDK's strict modern handler.
 */
export async function handleMcpRequest(
  request: Request, parsedBody: unknown, service: OrderService, principal: Principal, ctx: CallContext, receipt?: IdentityReceipt,
): Promise<Response> {
  if (parsedBody === undefined) return parseError();
  const call: Call = { principal, ctx, receipt };
  const authInfo = authInfoOf(call);
  if (!(await isLegacyRequest(request, parsedBody))) return modernHandler(service).fetch(request, { authInfo, parsedBody });
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  const server = serverFor(service, call);
  await server.connect(transport);
  try {
    return await transport.handleRequest(request, { authInfo, parsedBody });
  } finally {
    void server.close();
  }
}

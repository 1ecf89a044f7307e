/**
 * The Orders API as a Hono app: config, store, verifier and logger are injected.
 *
 * Start-up stays cheap: zod (our schemas), the MCP SDK (with its own zod copies and ajv) and the
 * OpenAPI generator are imported on first use (first body to validate, first /mcp, first
 * /openapi.json). The bundle keeps them in separate chunks; the first such request pays the load.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { OrdersConfig } from './config.js';
import { DomainError, OrderService } from './service.js';
import type { OrderStore } from './store.js';
import {
  bearerAuth, protectedResourceMetadata, protectedResourceMetadataUrl, publicBaseUrl,
  type AuthVariables, type TokenVerifier,
} from '../shared/auth/index.js';
import { requestContext, type Logger, type RequestContextVariables } from '../shared/observability.js';

export interface AppDeps {
  config: Pick<OrdersConfig, 'auth' | 'adminOids' | 'publicBaseUrl'>;
  store: OrderStore;
  verifier: TokenVerifier;
  logger: Logger;
}

type AppEnv = { Variables: AuthVariables & RequestContextVariables };
type Ctx = Context<AppEnv>;

export const MAX_BODY_BYTES = 64 * 1024;

function fail(c: Ctx, status: ContentfulStatusCode, error: string, message: string): Response {
  return c.json({ error, message }, status);
}

function methodNotAllowed(allow: string) {
  return (c: Ctx) => {
    c.header('Allow', allow);
    return fail(c, 405, 'method_not_allowed', `${c.req.method} is not allowed here; allowed: ${allow}`);
  };
}

type Schemas = typeof import('./schemas.js');

/** One import per process, shared by concurrent callers; a failed import is retried next time. */
function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => (pending ??= load().catch((err: unknown) => {
    pending = undefined;
    throw err;
  }));
}

const loadSchemas = lazy(() => import('./schemas.js'));
const loadMcp = lazy(() => import('./mcp.js'));
const loadOpenApi = lazy(() => import('./openapi.js'));

/** Parses a JSON body against a schema; a DomainError names the field on failure. */
async function parseBody<T extends z.ZodType>(c: Ctx, pick: (schemas: Schemas) => T): Promise<z.output<T>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new DomainError('invalid_request', 'body: must be a JSON object');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DomainError('invalid_request', 'body: must be a JSON object');
  }
  const schemas = await loadSchemas();
  const parsed = pick(schemas).safeParse(raw);
  if (!parsed.success) throw new DomainError('invalid_request', schemas.describeZodError(parsed.error));
  return parsed.data;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config, store, verifier, logger } = deps;
  const service = new OrderService(store, config.adminOids, logger);
  const app = new Hono<AppEnv>();
  const base = (c: Ctx) => publicBaseUrl(c, config.publicBaseUrl);
  const ctxOf = (c: Ctx) => ({ requestId: c.var.requestId });

  app.use(requestContext(logger));

  app.onError((err, c) => {
    if (err instanceof DomainError) return fail(c, err.status, err.code, err.message);
    // Never log request headers or bodies: only the error's own text.
    logger.error('unhandled error', { request_id: c.var.requestId, error: err.name, reason: err.message });
    return fail(c, 500, 'internal_error', 'An unexpected error occurred');
  });
  app.notFound((c) => fail(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`));

  app.get('/health', (c) => c.json({ status: 'healthy' }));
  app.all('/health', methodNotAllowed('GET'));

  app.get('/openapi.json', async (c) => c.json((await loadOpenApi()).buildOpenApiDocument({ serverUrl: base(c) })));
  app.all('/openapi.json', methodNotAllowed('GET'));

  // RFC 9728: `resource` is exactly the URL clients use.
  app.get('/.well-known/oauth-protected-resource', (c) => c.json(protectedResourceMetadata(base(c), config.auth)));
  app.get('/.well-known/oauth-protected-resource/mcp', (c) => c.json(protectedResourceMetadata(`${base(c)}/mcp`, config.auth)));

  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => fail(c, 413, 'payload_too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`),
  });
  const restAuth = bearerAuth({
    verifier,
    requiredScopes: config.auth.requiredScopes,
    resourceMetadataUrl: (c) => protectedResourceMetadataUrl(base(c as Ctx)),
  });
  const mcpAuth = bearerAuth({
    verifier,
    requiredScopes: config.auth.requiredScopes,
    resourceMetadataUrl: (c) => protectedResourceMetadataUrl(`${base(c as Ctx)}/mcp`),
  });

  // Orders: authenticate first (401 before any body is read), then bound the body.
  const orders = new Hono<AppEnv>();
  orders.use(restAuth, limit);
  orders.get('/', async (c) => c.json(await service.list(c.var.principal)));
  orders.post('/', async (c) => {
    const input = await parseBody(c, (s) => s.CreateOrderRequest);
    const { order, etag } = await service.create(c.var.principal, input, ctxOf(c));
    c.header('ETag', etag);
    c.header('Location', `/orders/${order.id}`);
    return c.json(order, 201);
  });
  orders.all('/', methodNotAllowed('GET, POST'));
  orders.get('/:id', async (c) => {
    const { order, etag } = await service.get(c.var.principal, c.req.param('id'));
    c.header('ETag', etag);
    return c.json(order);
  });
  orders.put('/:id', async (c) => {
    const patch = await parseBody(c, (s) => s.UpdateOrderRequest);
    const { order, etag } = await service.update(c.var.principal, c.req.param('id'), patch, c.req.header('if-match'), ctxOf(c));
    c.header('ETag', etag);
    return c.json(order);
  });
  orders.delete('/:id', async (c) => {
    await service.delete(c.var.principal, c.req.param('id'), c.req.header('if-match'), ctxOf(c));
    return c.body(null, 204);
  });
  orders.all('/:id', methodNotAllowed('GET, PUT, DELETE'));
  app.route('/orders', orders);

  // MCP Streamable HTTP, stateless: a fresh server and transport per POST; GET/DELETE have no session to serve.
  app.use('/mcp', mcpAuth, limit);
  app.post('/mcp', async (c) => (await loadMcp()).handleMcpRequest(c.req.raw, service, c.var.principal, ctxOf(c)));
  app.all('/mcp', methodNotAllowed('POST'));

  return app;
}

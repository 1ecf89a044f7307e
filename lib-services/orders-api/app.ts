/**
 * The Orders API as a Hono app: config, store, verifier and logger are injected.
 *
 * Start-up stays cheap: zod (our schemas), the MCP SDK (with its own zod copies and ajv) and the
 * OpenAPI generator are imported on first use (first body to validate, first /mcp, first
 * /openapi.json). The bundle keeps them in separate chunks; the first such request pays the load.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { advertisedScopeSettings, mcpScopeGuard, restScopeGuard } from './access.js';
import type { OrdersConfig } from './config.js';
import { rateLimit } from './rate-limit.js';
import { identityReceipt } from './receipt.js';
import { DomainError, OrderService } from './service.js';
import type { OrderStore } from './store.js';
import {
  AuthError, AuthUnavailableError, bearerAuth, bearerTokenFrom, protectedResourceMetadata, protectedResourceMetadataUrl, publicBaseUrl,
  type AppTokenVerifier, type AuthVariables, type TokenVerifier,
} from '../shared/auth/index.js';
import { lazy } from '../shared/lazy.js';
import { requestContext, type Logger, type RequestContextVariables } from '../shared/observability.js';

export interface AppDeps {
  config: Pick<OrdersConfig, 'auth' | 'adminOids' | 'publicBaseUrl' | 'gateway'> & Partial<Pick<OrdersConfig, 'publicRestBaseUrl' | 'scopes' | 'rateLimitPerMinute'>>;
  store: OrderStore;
  /** Verifies user tokens; with `config.gateway` it must also verify app tokens (createTokenVerifier does both). */
  verifier: TokenVerifier & Partial<AppTokenVerifier>;
  logger: Logger;
}

/** Where the gateway puts its own token, beside the user's untouched `Authorization`. */
export const GATEWAY_HEADER = 'X-Gateway-Authorization';

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

/** The configured middleware of a chain: a step that is off is not even a pass-through. */
function steps(...handlers: (MiddlewareHandler | undefined)[]): MiddlewareHandler[] {
  return handlers.filter((h) => h !== undefined);
}

// The /mcp body, read and parsed once per request: the scope guard reads the tool name from it,
// the SDK the rest. Undefined: not JSON.
const mcpBodies = new WeakMap<Ctx, Promise<unknown>>();
function mcpBody(c: Ctx): Promise<unknown> {
  let body = mcpBodies.get(c);
  if (!body) {
    body = c.req.text().then((text) => JSON.parse(text) as unknown, () => undefined).catch(() => undefined);
    mcpBodies.set(c, body);
  }
  return body;
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
  // MCP and REST may have different public bases (behind API Management: /orders-mcp and /orders-api).
  const base = (c: Ctx) => publicBaseUrl(c, config.publicBaseUrl);
  const restBase = (c: Ctx) => publicBaseUrl(c, config.publicRestBaseUrl ?? config.publicBaseUrl);
  const ctxOf = (c: Ctx) => ({ requestId: c.get('requestId') });

  app.use(requestContext(logger));

  app.onError((err, c) => {
    if (err instanceof DomainError) return fail(c, err.status, err.code, err.message);
    // Never log request headers or bodies: only the error's own text.
    logger.error('unhandled error', { request_id: c.get('requestId'), error: err.name, reason: err.message });
    return fail(c, 500, 'internal_error', 'An unexpected error occurred');
  });
  app.notFound((c) => fail(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`));

  app.get('/health', (c) => c.json({ status: 'healthy' }));
  app.all('/health', methodNotAllowed('GET'));

  app.get('/openapi.json', async (c) => c.json((await loadOpenApi()).buildOpenApiDocument({ serverUrl: restBase(c) })));
  app.all('/openapi.json', methodNotAllowed('GET'));

  // RFC 9728: `resource` is exactly the URL clients use; with per-operation scopes, both are listed.
  const advertised = advertisedScopeSettings(config.auth, config.scopes);
  app.get('/.well-known/oauth-protected-resource', (c) => c.json(protectedResourceMetadata(restBase(c), advertised)));
  app.get('/.well-known/oauth-protected-resource/mcp', (c) => c.json(protectedResourceMetadata(`${base(c)}/mcp`, advertised)));

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => fail(c, 413, 'payload_too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`),
  });
  // GET and HEAD never have a body here (the Node adapter attaches none): skipping them keeps
  // bodyLimit from asking for `c.req.raw.body`, which makes the adapter build a full Request.
  const limit = createMiddleware<AppEnv>(async (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));
  const restAuth = bearerAuth({
    verifier,
    requiredScopes: config.auth.requiredScopes,
    resourceMetadataUrl: (c) => protectedResourceMetadataUrl(restBase(c as Ctx)),
  });
  const mcpAuth = bearerAuth({
    verifier,
    requiredScopes: config.auth.requiredScopes,
    resourceMetadataUrl: (c) => protectedResourceMetadataUrl(`${base(c as Ctx)}/mcp`),
  });
  // After the user's token (its 401/403 come first): the gateway's proof, when configured
  // (unconfigured, not even a pass-through step in the chain).
  const gateway = gatewayProof(deps);
  // Then the caller's budget (by verified oid), and after the body limit the per-operation scopes;
  // each only when configured.
  const budget = config.rateLimitPerMinute ? rateLimit({ perMinute: config.rateLimitPerMinute }) : undefined;
  const restScopes = config.scopes && restScopeGuard(config.auth, config.scopes, (c) => protectedResourceMetadataUrl(restBase(c as Ctx)));
  const mcpScopes = config.scopes
    && mcpScopeGuard(config.auth, config.scopes, (c) => protectedResourceMetadataUrl(`${base(c as Ctx)}/mcp`), (c) => mcpBody(c as Ctx));

  // Orders: authenticate first (401 before any body is read), then bound the body.
  const orders = new Hono<AppEnv>();
  orders.use(...steps(restAuth, gateway, budget, limit, restScopes));
  orders.get('/', async (c) => c.json(await service.list(c.get('principal'))));
  orders.post('/', async (c) => {
    const input = await parseBody(c, (s) => s.CreateOrderRequest);
    const { order, etag } = await service.create(c.get('principal'), input, ctxOf(c));
    c.header('ETag', etag);
    c.header('Location', `/orders/${order.id}`);
    return c.json(order, 201);
  });
  orders.all('/', methodNotAllowed('GET, POST'));
  orders.get('/:id', async (c) => {
    const { order, etag } = await service.get(c.get('principal'), c.req.param('id'));
    c.header('ETag', etag);
    return c.json(order);
  });
  orders.put('/:id', async (c) => {
    const patch = await parseBody(c, (s) => s.UpdateOrderRequest);
    const { order, etag } = await service.update(c.get('principal'), c.req.param('id'), patch, c.req.header('if-match'), ctxOf(c));
    c.header('ETag', etag);
    return c.json(order);
  });
  orders.delete('/:id', async (c) => {
    await service.delete(c.get('principal'), c.req.param('id'), c.req.header('if-match'), ctxOf(c));
    return c.body(null, 204);
  });
  orders.all('/:id', methodNotAllowed('GET, PUT, DELETE'));
  app.route('/orders', orders);

  // MCP Streamable HTTP, stateless: a fresh server and transport per POST; GET/DELETE have no session to serve.
  app.use('/mcp', ...steps(mcpAuth, gateway, budget, limit, mcpScopes));
  app.post('/mcp', async (c) => {
    const principal = c.get('principal');
    const receipt = identityReceipt(principal, config.auth.audiences);
    return (await loadMcp()).handleMcpRequest(c.req.raw, await mcpBody(c), service, principal, ctxOf(c), receipt);
  });
  app.all('/mcp', methodNotAllowed('POST'));

  return app;
}

/**
 * With GATEWAY_AUDIENCE and GATEWAY_PRINCIPAL_IDS: the request must also carry the gateway's own
 * app-only token in X-Gateway-Authorization (same issuers, keys and tenant as user tokens; its
 * own audience; `oid` one of the gateway identities; no `scp`), else 403 gateway_required.
 * Without them: undefined (no check, exactly as before).
 */
function gatewayProof(deps: AppDeps) {
  const { config, verifier, logger } = deps;
  const settings = config.gateway;
  if (settings === undefined) return undefined;
  const verifyAppToken = verifier.verifyAppToken?.bind(verifier);
  if (verifyAppToken === undefined) {
    throw new Error('createApp: the gateway proof (config.gateway) needs a verifier with verifyAppToken, as createTokenVerifier returns');
  }
  const expected = { audiences: [settings.audience], principalIds: settings.principalIds };
  return createMiddleware<AppEnv>(async (c, next) => {
    try {
      await verifyAppToken(bearerTokenFrom(c.req.header(GATEWAY_HEADER)), expected);
    } catch (err) {
      if (err instanceof AuthUnavailableError) {
        c.header('Retry-After', '5');
        return c.json({ error: 'auth_unavailable', message: err.message }, 503);
      }
      if (!(err instanceof AuthError)) throw err;
      // The reason only: never the header's value.
      const reason = err.missing ? `${GATEWAY_HEADER}: Bearer <gateway token> is required` : `the gateway token is refused: ${err.message}`;
      logger.warn('gateway proof refused', { request_id: c.get('requestId'), reason });
      c.header('Cache-Control', 'no-store');
      return c.json({ error: 'gateway_required', message: `This API is served only through its API gateway; ${reason}.` }, 403);
    }
    await next();
    return undefined;
  });
}

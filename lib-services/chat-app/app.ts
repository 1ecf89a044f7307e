// The Chat App: the SPA's static files, what MSAL needs, and the chat routes that carry
// the signed-in user's own token to the Foundry agent. Same-origin only: no CORS.
import { Hono, type Context } from 'hono';
import type { AgentClient } from './agent-client.js';
import type { ChatSettings } from './config.js';
import { RequestError } from './request.js';
import { chatRouter } from './routes/chat.js';
import { securityHeaders } from './security-headers.js';
import type { StaticFiles } from './static-files.js';
import {
  bearerAuth, protectedResourceMetadata, protectedResourceMetadataUrl, publicBaseUrl,
  type AuthVariables, type TokenVerifier,
} from '../shared/auth/index.js';
import { createLogger, requestContext, type Logger, type RequestContextVariables } from '../shared/observability.js';

export interface ChatAppDeps {
  settings: ChatSettings;
  verifier: TokenVerifier;
  agent: Pick<AgentClient, 'start'>;
  /** The built SPA (see static-files.ts); empty = API only. A function is called once, on the first GET or HEAD. */
  staticFiles?: StaticFiles | (() => StaticFiles);
  /** JSON lines; never given a header value, a body or a token. @default stdout */
  logger?: Logger;
}

type Env = { Variables: AuthVariables & RequestContextVariables };

/** The Chat App protects `/api`; its RFC 9728 metadata lives at the path-inserted well-known URL. */
const RESOURCE_PATH = '/api';

export function createApp(deps: ChatAppDeps): Hono<Env> {
  const { settings } = deps;
  const logger = deps.logger ?? createLogger('chat-app');
  const baseUrl = (c: Context) => publicBaseUrl(c, settings.publicBaseUrl);
  const auth = bearerAuth({
    verifier: deps.verifier,
    resourceMetadataUrl: (c) => protectedResourceMetadataUrl(`${baseUrl(c)}${RESOURCE_PATH}`),
    requiredScopes: settings.auth.requiredScopes,
  });
  const app = new Hono<Env>();

  // Access log: the path only; no query string, header value or body.
  app.use(requestContext(logger));
  app.use(securityHeaders(settings.msal.authority));

  app.get('/health', (c) => c.json({ status: 'healthy' }));

  app.get('/api/config', (c) => c.json({
    clientId: settings.spaClientId,
    authority: settings.msal.authority,
    scopes: settings.msal.scopes,
    knownAuthorities: settings.msal.knownAuthorities,
    protocolMode: settings.msal.protocolMode,
  }));

  app.get(`/.well-known/oauth-protected-resource${RESOURCE_PATH}`, (c) =>
    c.json(protectedResourceMetadata(`${baseUrl(c)}${RESOURCE_PATH}`, settings.auth)));

  app.use('/api/chat', methodGuard('POST'));
  app.use('/api/chat/approve', methodGuard('POST'));
  app.post('/api/chat', auth);
  app.post('/api/chat/approve', auth);
  app.route('/api/chat', chatRouter({ agent: deps.agent, logger }));

  const source = deps.staticFiles;
  let files = typeof source === 'function' ? undefined : source ?? new Map();
  app.on(['GET', 'HEAD'], '*', (c, next) => {
    files ??= (source as () => StaticFiles)();
    const file = files.get(c.req.path);
    if (!file) return next();
    c.header('ETag', file.etag);
    // Revalidate every time: file names carry no content hash.
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304);
    c.header('Content-Type', file.contentType);
    if (c.req.method === 'HEAD') return c.body(null);
    return c.body(file.body as Uint8Array<ArrayBuffer>);
  });

  app.notFound((c) => c.json({ error: 'not_found', message: `Nothing at ${c.req.path}.` }, 404));
  app.onError((err, c) => {
    if (err instanceof RequestError) return c.json({ error: err.code, message: err.message }, err.status);
    logger.error('unhandled error', { path: c.req.path, error: err.name });
    return c.json({ error: 'internal_error', message: 'Something went wrong in the Chat App.' }, 500);
  });
  return app;
}

function methodGuard(method: string) {
  return async (c: Context, next: () => Promise<void>) => {
    if (c.req.method !== method) {
      c.header('Allow', method);
      return c.json({ error: 'method_not_allowed', message: `${c.req.path} accepts ${method} only.` }, 405);
    }
    await next();
    return undefined;
  };
}

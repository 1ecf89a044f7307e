/** Hono side of the auth module: the bearer middleware, challenges and RFC 9728 metadata. */
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AuthSettings } from './config.js';
import { AuthError, AuthUnavailableError, type Principal, type TokenVerifier } from './verifier.js';

export interface AuthVariables {
  principal: Principal;
}

export interface BearerAuthOptions {
  verifier: TokenVerifier;
  /** The RFC 9728 metadata URL of the resource this middleware protects (goes in the challenge). */
  resourceMetadataUrl: (c: Context) => string;
  /** Scopes named in a 403 challenge. */
  requiredScopes?: string[];
}

const BEARER = /^bearer(?:\s+(.*))?$/is;

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** The `WWW-Authenticate` value of the contract (no error code when no token was sent). */
export function bearerChallenge(opts: { resourceMetadataUrl: string; error?: 'invalid_token' | 'insufficient_scope'; scope?: string }): string {
  const parts: string[] = [];
  if (opts.error) parts.push(`error=${quote(opts.error)}`);
  if (opts.scope) parts.push(`scope=${quote(opts.scope)}`);
  parts.push(`resource_metadata=${quote(opts.resourceMetadataUrl)}`);
  return `Bearer ${parts.join(', ')}`;
}

/** The token from the Authorization header only (scheme case-insensitive); never from the query string. */
export function bearerTokenFrom(header: string | undefined): string {
  if (header === undefined) throw new AuthError('invalid_token', 'a bearer token is required', true);
  const m = BEARER.exec(header.trim());
  if (!m) throw new AuthError('invalid_token', 'a bearer token is required (Authorization: Bearer <token>)', true);
  const token = (m[1] ?? '').trim();
  if (!token) throw new AuthError('invalid_token', 'the bearer token is empty');
  if (/\s/.test(token)) throw new AuthError('invalid_token', 'the token is malformed');
  return token;
}

/** Answers 401/403 with `{error, message}` and the challenge, or 503 when keys are unavailable. */
export function authFailure(c: Context, err: unknown, resourceMetadataUrl: string, requiredScopes: string[] = []): Response {
  if (err instanceof AuthError) {
    c.header('WWW-Authenticate', bearerChallenge({
      resourceMetadataUrl,
      error: err.missing ? undefined : err.code,
      scope: err.code === 'insufficient_scope' && requiredScopes.length ? requiredScopes.join(' ') : undefined,
    }));
    c.header('Cache-Control', 'no-store');
    return c.json({ error: err.missing ? 'unauthorized' : err.code, message: err.message }, err.status);
  }
  if (err instanceof AuthUnavailableError) {
    c.header('Retry-After', '5');
    return c.json({ error: 'auth_unavailable', message: err.message }, 503);
  }
  throw err;
}

/** Hono middleware: verifies the bearer token and sets `c.var.principal`. */
export function bearerAuth(options: BearerAuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  return createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    let principal: Principal;
    try {
      principal = await options.verifier.verify(bearerTokenFrom(c.req.header('authorization')));
    } catch (err) {
      return authFailure(c, err, options.resourceMetadataUrl(c), options.requiredScopes);
    }
    c.set('principal', principal);
    await next();
    return undefined;
  });
}

function firstValue(header: string | undefined): string | undefined {
  const v = header?.split(',')[0]?.trim();
  return v ? v : undefined;
}

/**
 * The base URL clients use: PUBLIC_BASE_URL when configured, else from X-Forwarded-Proto /
 * X-Forwarded-Host (Container Apps terminates TLS), else from the request. No trailing slash.
 */
export function publicBaseUrl(c: Context, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const url = new URL(c.req.url);
  const proto = firstValue(c.req.header('x-forwarded-proto'));
  const host = firstValue(c.req.header('x-forwarded-host'));
  const protocol = proto === 'http' || proto === 'https' ? proto : url.protocol.replace(':', '');
  const authority = host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : url.host;
  return `${protocol}://${authority}`;
}

/** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: ['header'];
  scopes_supported: string[];
}

/** Scopes a client should request: the required ones qualified by the first audience, else `<audience>/.default`. */
export function scopesSupported(settings: Pick<AuthSettings, 'audiences' | 'requiredScopes'>): string[] {
  const audience = settings.audiences[0].replace(/\/+$/, '');
  if (settings.requiredScopes.length === 0) return [`${audience}/.default`];
  return settings.requiredScopes.map((s) => (s.includes('://') || s.startsWith(`${audience}/`) ? s : `${audience}/${s}`));
}

export function protectedResourceMetadata(resource: string, settings: Pick<AuthSettings, 'issuers' | 'audiences' | 'requiredScopes'>): ProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [...settings.issuers],
    bearer_methods_supported: ['header'],
    scopes_supported: scopesSupported(settings),
  };
}

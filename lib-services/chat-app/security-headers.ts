// Strict headers on every response. The SPA is same-origin and loads no inline script, so
// the policy can be tight: scripts from this origin only, network calls to this origin and
// the sign-in authority only, never framed.
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';

export function contentSecurityPolicy(authority: string): string {
  const authorityOrigin = new URL(authority).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "manifest-src 'self'",
    `connect-src 'self' ${authorityOrigin}`,
    // MSAL's silent token renewal loads the authority in a hidden iframe.
    `frame-src ${authorityOrigin}`,
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(authority: string): MiddlewareHandler {
  const csp = contentSecurityPolicy(authority);
  return createMiddleware(async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set('Content-Security-Policy', csp);
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('Referrer-Policy', 'no-referrer');
    h.set('X-Frame-Options', 'DENY');
    h.set('Cross-Origin-Opener-Policy', 'same-origin');
    h.set('Cross-Origin-Resource-Policy', 'same-origin');
    h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    // Browsers ignore it over plain http (local runs); in Azure the app is served over https.
    h.set('Strict-Transport-Security', 'max-age=31536000');
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  });
}

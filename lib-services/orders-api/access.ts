/**
 * Per-operation scopes of the Orders API (ORDERS_READ_SCOPES / ORDERS_WRITE_SCOPES) and the
 * step-up challenge a token without them gets: 403 `insufficient_scope` naming the scope to ask
 * for (MCP 2025-11-25, basic/authorization, "Scope Challenge Handling"; RFC 6750 §3.1).
 * Reading needs a read OR a write scope; changing needs a write scope. Unset: no per-operation check.
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import {
  bearerChallenge, ConfigError, listFromEnv, scopesSupported, type AuthSettings, type AuthVariables,
} from '../shared/auth/index.js';

export type Access = 'read' | 'write';

/** Short scope names as they appear in `scp`. */
export interface ScopeRules {
  read: string[];
  write: string[];
}

type Env = Record<string, string | undefined>;

/** Both variables or neither: one alone would leave reading or changing unreachable by mistake. */
export function scopeRulesFromEnv(env: Env): ScopeRules | undefined {
  const read = listFromEnv(env, 'ORDERS_READ_SCOPES');
  const write = listFromEnv(env, 'ORDERS_WRITE_SCOPES');
  if (read.length === 0 && write.length === 0) return undefined;
  if (write.length === 0) throw new ConfigError('ORDERS_WRITE_SCOPES', 'ORDERS_READ_SCOPES is set, so the scopes that allow changing orders must be set too');
  if (read.length === 0) throw new ConfigError('ORDERS_READ_SCOPES', 'ORDERS_WRITE_SCOPES is set, so the scopes that allow reading orders must be set too');
  for (const [name, list] of [['ORDERS_READ_SCOPES', read], ['ORDERS_WRITE_SCOPES', write]] as const) {
    for (const s of list) if (/\s/.test(s)) throw new ConfigError(name, `"${s}" contains whitespace; separate scopes with commas`);
  }
  return { read, write };
}

/** What each MCP tool does; a tool not listed here is refused when rules are set (fail closed). */
export const TOOL_ACCESS: Readonly<Record<string, Access>> = {
  'list-orders': 'read',
  'get-order': 'read',
  'health-check': 'read',
  'create-order': 'write',
  'update-order': 'write',
  'delete-order': 'write',
};

export function accessOfMethod(method: string): Access {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'write';
}

/** The scopes that would allow `access` (short names), or undefined when the caller holds one of them. */
export function missingScopes(rules: ScopeRules, granted: readonly string[], access: Access): string[] | undefined {
  const allowing = access === 'read' ? [...rules.read, ...rules.write] : rules.write;
  if (granted.some((s) => allowing.includes(s))) return undefined;
  // The minimum to ask for: the read scope for reading, the write scope for changing.
  return access === 'read' ? rules.read : rules.write;
}

/** Scope names as a client requests them from the authorization server: qualified by the first audience. */
export function qualifiedScopes(auth: Pick<AuthSettings, 'audiences'>, scopes: string[]): string[] {
  return scopesSupported({ audiences: auth.audiences, requiredScopes: scopes });
}

/** RFC 9728 `scopes_supported`: the required scopes and, with rules, the read and the write scopes. */
export function advertisedScopeSettings(auth: AuthSettings, rules: ScopeRules | undefined): AuthSettings {
  if (!rules) return auth;
  return { ...auth, requiredScopes: [...new Set([...auth.requiredScopes, ...rules.read, ...rules.write])] };
}

export interface ScopeDenial {
  /** The `WWW-Authenticate` value. */
  challenge: string;
  /** The scopes named in the challenge (qualified). */
  scope: string;
  message: string;
}

export function scopeDenial(auth: Pick<AuthSettings, 'audiences'>, needed: string[], what: string, resourceMetadataUrl: string): ScopeDenial {
  const scope = qualifiedScopes(auth, needed).join(' ');
  return {
    challenge: bearerChallenge({ resourceMetadataUrl, error: 'insufficient_scope', scope }),
    scope,
    message: `the token lacks the scope to ${what} (needs one of: ${needed.join(', ')})`,
  };
}

type Vars = { Variables: AuthVariables };

/** REST: after the bearer middleware; reads need read or write, other methods write. */
export function restScopeGuard(auth: AuthSettings, rules: ScopeRules | undefined, resourceMetadataUrl: (c: Context) => string) {
  return createMiddleware<Vars>(async (c, next) => {
    if (rules) {
      const access = accessOfMethod(c.req.method);
      const needed = missingScopes(rules, c.var.principal.scopes, access);
      if (needed) {
        const denial = scopeDenial(auth, needed, access === 'read' ? 'read orders' : 'change orders', resourceMetadataUrl(c));
        c.header('WWW-Authenticate', denial.challenge);
        c.header('Cache-Control', 'no-store');
        return c.json({ error: 'insufficient_scope', message: denial.message }, 403);
      }
    }
    await next();
    return undefined;
  });
}

type JsonRpcMessage = { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: { name?: unknown } };

/** JSON-RPC implementation-defined server error code used for an authorization refusal. */
export const JSONRPC_FORBIDDEN = -32003;

/** An MCP request body as JSON, or undefined when it is not JSON (the MCP layer answers that). */
export type McpBodyReader = (c: Context) => Promise<unknown>;

/**
 * MCP: a `tools/call` of a tool the token may not use gets HTTP 403 with the challenge (what the
 * spec's step-up flow reads) and a JSON-RPC error body; everything else passes to the MCP layer.
 * The same for every revision (a 2026-07-28 `tools/call` names its tool in the body as well).
 * `readBody` is the app's: the body is parsed once for this guard and the MCP layer.
 */
export function mcpScopeGuard(
  auth: AuthSettings, rules: ScopeRules | undefined, resourceMetadataUrl: (c: Context) => string, readBody: McpBodyReader,
) {
  return createMiddleware<Vars>(async (c, next) => {
    if (rules && c.req.method === 'POST') {
      const parsed = await readBody(c);
      for (const message of (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcMessage[]) {
        if (message?.method !== 'tools/call') continue;
        const tool = typeof message.params?.name === 'string' ? message.params.name : '';
        const needed = missingScopes(rules, c.var.principal.scopes, Object.hasOwn(TOOL_ACCESS, tool) ? TOOL_ACCESS[tool] : 'write');
        if (!needed) continue;
        const denial = scopeDenial(auth, needed, `use ${tool || 'this tool'}`, resourceMetadataUrl(c));
        c.header('WWW-Authenticate', denial.challenge);
        c.header('Cache-Control', 'no-store');
        const id = typeof message.id === 'string' || typeof message.id === 'number' ? message.id : null;
        return c.json({
          jsonrpc: '2.0',
          id,
          error: { code: JSONRPC_FORBIDDEN, message: denial.message, data: { error: 'insufficient_scope', scope: denial.scope, tool } },
        }, 403);
      }
    }
    await next();
    return undefined;
  });
}

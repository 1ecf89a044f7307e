/** Auth configuration from environment variables: one source for both services. */

/** A start-up configuration problem; the message is one line naming the variable. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`.replace(/\s*\n\s*/g, ' '));
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export interface AuthSettings {
  /** Accepted issuers: the tenant's v2 form first, then v1, then AUTH_ISSUERS. */
  issuers: string[];
  /** Issuer whose OpenID discovery document gives jwks_uri (unused when jwksUri is set). */
  discoveryIssuer?: string;
  /** AUTH_JWKS_URI: overrides discovery. */
  jwksUri?: string;
  audiences: string[];
  tenantId?: string;
  /** Accepted `azp` (v2) / `appid` (v1); empty = any. */
  allowedClientIds: string[];
  /** `scp` must hold at least one of these; empty = none required. */
  requiredScopes: string[];
  clockToleranceSec: number;
}

export const DEFAULT_AUDIENCE = 'https://ai.azure.com';
export const DEFAULT_CLOCK_TOLERANCE_SEC = 60;

type Env = Record<string, string | undefined>;

/** Comma-separated list; blanks dropped. An unset or blank variable gives []. */
export function listFromEnv(env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function valueFromEnv(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** https everywhere; http only for loopback hosts (local issuers and tests). */
export function checkAuthUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(variable, `"${value}" is not a URL`);
  }
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return value;
  throw new ConfigError(variable, `"${value}" must use https (http is accepted only for loopback hosts)`);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra tenant, object and client ids are GUIDs. */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/**
 * Reads AUTH_TENANT_ID, AUTH_ISSUERS, AUTH_JWKS_URI, AUTH_AUDIENCES, AUTH_ALLOWED_CLIENT_IDS,
 * AUTH_REQUIRED_SCOPES and AUTH_CLOCK_TOLERANCE_SEC. Throws ConfigError; there is no way to
 * switch auth off.
 */
export function authSettingsFromEnv(env: Env): AuthSettings {
  const tenantId = valueFromEnv(env, 'AUTH_TENANT_ID');
  if (tenantId && !isGuid(tenantId)) {
    throw new ConfigError('AUTH_TENANT_ID', `"${tenantId}" is not a tenant id (a GUID)`);
  }
  const extraIssuers = listFromEnv(env, 'AUTH_ISSUERS').map((i) => checkAuthUrl('AUTH_ISSUERS', i));
  if (!tenantId && extraIssuers.length === 0) {
    throw new ConfigError('AUTH_TENANT_ID', 'set AUTH_TENANT_ID or AUTH_ISSUERS (token validation cannot be switched off)');
  }
  const tenantIssuers = tenantId
    ? [`https://login.microsoftonline.com/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`]
    : [];
  const issuers = [...new Set([...tenantIssuers, ...extraIssuers])];

  const jwksRaw = valueFromEnv(env, 'AUTH_JWKS_URI');
  const jwksUri = jwksRaw ? checkAuthUrl('AUTH_JWKS_URI', jwksRaw) : undefined;

  const audiences = listFromEnv(env, 'AUTH_AUDIENCES');
  const toleranceRaw = valueFromEnv(env, 'AUTH_CLOCK_TOLERANCE_SEC');
  let clockToleranceSec = DEFAULT_CLOCK_TOLERANCE_SEC;
  if (toleranceRaw !== undefined) {
    clockToleranceSec = Number(toleranceRaw);
    if (!Number.isInteger(clockToleranceSec) || clockToleranceSec < 0 || clockToleranceSec > 300) {
      throw new ConfigError('AUTH_CLOCK_TOLERANCE_SEC', `"${toleranceRaw}" must be an integer number of seconds from 0 to 300`);
    }
  }
  const requiredScopes = listFromEnv(env, 'AUTH_REQUIRED_SCOPES');
  for (const s of requiredScopes) {
    if (/\s/.test(s)) throw new ConfigError('AUTH_REQUIRED_SCOPES', `"${s}" contains whitespace; separate scopes with commas`);
  }
  return {
    issuers,
    discoveryIssuer: jwksUri ? undefined : (tenantIssuers[0] ?? extraIssuers[0]),
    jwksUri,
    audiences: audiences.length ? audiences : [DEFAULT_AUDIENCE],
    tenantId,
    allowedClientIds: listFromEnv(env, 'AUTH_ALLOWED_CLIENT_IDS'),
    requiredScopes,
    clockToleranceSec,
  };
}

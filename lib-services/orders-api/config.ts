/** Orders API configuration from environment variables (main.ts passes process.env). */
import { scopeRulesFromEnv, type ScopeRules } from './access.js';
import { rateLimitFromEnv } from './rate-limit.js';
import { authSettingsFromEnv, checkAuthUrl, ConfigError, isGuid, listFromEnv, type AuthSettings } from '../shared/auth/index.js';

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'table'; tableName: string; endpoint?: string; connectionString?: string };

/**
 * The gateway proof (GATEWAY_AUDIENCE + GATEWAY_PRINCIPAL_IDS): besides the user's token, every
 * protected route needs `X-Gateway-Authorization: Bearer <app-only token>` of the gateway's own
 * identity, so that the API is not usable around its gateway.
 */
export interface GatewayProofSettings {
  /** The `aud` the gateway's token must carry. */
  audience: string;
  /** Object ids of the gateway identities allowed to vouch (the token's `oid`). */
  principalIds: string[];
}

export interface OrdersConfig {
  port: number;
  auth: AuthSettings;
  adminOids: string[];
  seedOwnerOid?: string;
  store: StoreConfig;
  /** PUBLIC_BASE_URL: the base MCP clients use (`resource` = `<base>/mcp`); unset: from the request. */
  publicBaseUrl?: string;
  /** PUBLIC_REST_BASE_URL: the base REST clients use (challenges, metadata, OpenAPI `servers`); unset: PUBLIC_BASE_URL. */
  publicRestBaseUrl?: string;
  /** Unset: no gateway proof required (the API validates user tokens only). */
  gateway?: GatewayProofSettings;
  appInsightsConnectionString?: string;
  /** ORDERS_READ_SCOPES / ORDERS_WRITE_SCOPES; unset: no per-operation scope check. */
  scopes?: ScopeRules;
  /** RATE_LIMIT_PER_MINUTE per caller oid; 0 = off. */
  rateLimitPerMinute: number;
}

type Env = Record<string, string | undefined>;

const value = (env: Env, name: string) => env[name]?.trim() || undefined;

export function ordersConfigFromEnv(env: Env): OrdersConfig {
  const portRaw = value(env, 'PORT') ?? '8000';
  const port = Number(portRaw);
  if (!/^\d+$/.test(portRaw) || port > 65535) throw new ConfigError('PORT', `"${portRaw}" is not a port number`);

  const auth = authSettingsFromEnv(env);

  const kind = value(env, 'STORE') ?? 'memory';
  let store: StoreConfig;
  if (kind === 'memory') {
    store = { kind };
  } else if (kind === 'table') {
    const endpoint = value(env, 'TABLES_ENDPOINT');
    const connectionString = value(env, 'AZURE_STORAGE_CONNECTION_STRING');
    if (!endpoint && !connectionString) {
      throw new ConfigError('TABLES_ENDPOINT', 'STORE=table needs TABLES_ENDPOINT (managed identity) or AZURE_STORAGE_CONNECTION_STRING');
    }
    if (endpoint && connectionString) {
      throw new ConfigError('AZURE_STORAGE_CONNECTION_STRING', 'set TABLES_ENDPOINT or AZURE_STORAGE_CONNECTION_STRING, not both');
    }
    if (endpoint) checkAuthUrl('TABLES_ENDPOINT', endpoint);
    const tableName = value(env, 'ORDERS_TABLE_NAME') ?? 'orders';
    if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(tableName)) throw new ConfigError('ORDERS_TABLE_NAME', `"${tableName}" is not a valid table name`);
    store = { kind, tableName, endpoint, connectionString };
  } else {
    throw new ConfigError('STORE', `"${kind}" must be memory or table`);
  }

  const publicBaseUrl = publicUrlFromEnv(env, 'PUBLIC_BASE_URL');
  // Behind API Management the REST routes have their own public base (/orders-api, beside /orders-mcp).
  const publicRestBaseUrl = publicUrlFromEnv(env, 'PUBLIC_REST_BASE_URL') ?? publicBaseUrl;

  const gateway = gatewayProofFromEnv(env);

  return {
    port,
    auth,
    adminOids: listFromEnv(env, 'ORDERS_ADMIN_OIDS'),
    seedOwnerOid: value(env, 'ORDERS_SEED_OWNER_OID'),
    store,
    publicBaseUrl,
    publicRestBaseUrl,
    gateway,
    appInsightsConnectionString: value(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING'),
    scopes: scopeRulesFromEnv(env),
    rateLimitPerMinute: rateLimitFromEnv(env),
  };
}

/** An http(s) URL without query or fragment, without trailing slashes; undefined when unset. */
function publicUrlFromEnv(env: Env, name: string): string | undefined {
  const raw = value(env, name);
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new ConfigError(name, `"${raw}" must be an http(s) URL without query or fragment`);
  }
  return raw.replace(/\/+$/, '');
}

/** GATEWAY_AUDIENCE and GATEWAY_PRINCIPAL_IDS: both or neither. */
function gatewayProofFromEnv(env: Env): GatewayProofSettings | undefined {
  const audience = value(env, 'GATEWAY_AUDIENCE');
  const principalIds = listFromEnv(env, 'GATEWAY_PRINCIPAL_IDS');
  if (audience === undefined && principalIds.length === 0) return undefined;
  if (audience === undefined) throw new ConfigError('GATEWAY_AUDIENCE', 'GATEWAY_PRINCIPAL_IDS is set, so the gateway proof needs GATEWAY_AUDIENCE too');
  if (principalIds.length === 0) throw new ConfigError('GATEWAY_PRINCIPAL_IDS', 'GATEWAY_AUDIENCE is set, so the gateway proof needs GATEWAY_PRINCIPAL_IDS too');
  if (/[\s,]/.test(audience)) throw new ConfigError('GATEWAY_AUDIENCE', `"${audience}" must be one audience (no commas or whitespace)`);
  for (const id of principalIds) {
    if (!isGuid(id)) throw new ConfigError('GATEWAY_PRINCIPAL_IDS', `"${id}" is not an object id (a GUID)`);
  }
  return { audience, principalIds };
}

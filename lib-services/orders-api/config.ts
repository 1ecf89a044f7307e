/** Orders API configuration from environment variables (main.ts passes process.env). */
import { authSettingsFromEnv, checkAuthUrl, ConfigError, listFromEnv, type AuthSettings } from '../shared/auth/index.js';

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'table'; tableName: string; endpoint?: string; connectionString?: string };

export interface OrdersConfig {
  port: number;
  auth: AuthSettings;
  adminOids: string[];
  seedOwnerOid?: string;
  store: StoreConfig;
  publicBaseUrl?: string;
  appInsightsConnectionString?: string;
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

  const publicBaseUrl = value(env, 'PUBLIC_BASE_URL');
  if (publicBaseUrl) {
    let url: URL | undefined;
    try {
      url = new URL(publicBaseUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
      throw new ConfigError('PUBLIC_BASE_URL', `"${publicBaseUrl}" must be an http(s) URL without query or fragment`);
    }
  }

  return {
    port,
    auth,
    adminOids: listFromEnv(env, 'ORDERS_ADMIN_OIDS'),
    seedOwnerOid: value(env, 'ORDERS_SEED_OWNER_OID'),
    store,
    publicBaseUrl: publicBaseUrl?.replace(/\/+$/, ''),
    appInsightsConnectionString: value(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING'),
  };
}

// The Chat App's settings from environment variables (read only by main.ts). A missing or
// contradictory value stops the start with a one-line error naming the variable.
import { authSettingsFromEnv, checkAuthUrl, ConfigError, listFromEnv, type AuthSettings } from '../shared/auth/index.js';

type Env = Record<string, string | undefined>;

export type ProtocolMode = 'AAD' | 'OIDC';

export interface ChatSettings {
  port: number;
  /** Token rules; `allowedClientIds` is exactly `[spaClientId]`. */
  auth: AuthSettings;
  spaClientId: string;
  /** What the SPA hands to MSAL. */
  msal: {
    authority: string;
    scopes: string[];
    knownAuthorities: string[];
    protocolMode: ProtocolMode;
  };
  foundryProjectEndpoint: string;
  agentName: string;
  agentTimeoutMs: number;
  agentReferenceKey: 'agent_reference' | 'agent';
  /** The URL clients use, when configured (else derived from the request). */
  publicBaseUrl?: string;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_AGENT_NAME = 'orders-assistant';
export const DEFAULT_AGENT_TIMEOUT_MS = 120_000;
export const DEFAULT_SCOPES = ['https://ai.azure.com/.default'];

// Entra ID sign-in hosts (public and national clouds): MSAL's default protocol mode works there.
const ENTRA_HOSTS = new Set([
  'login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net', 'login.microsoftonline.us',
  'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn',
]);

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `"${raw}" must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** MSAL's protocol mode and known authorities for an authority URL. */
export function msalAuthority(authority: string): Pick<ChatSettings['msal'], 'knownAuthorities' | 'protocolMode'> {
  const url = new URL(authority);
  if (ENTRA_HOSTS.has(url.hostname)) return { protocolMode: 'AAD', knownAuthorities: [] };
  // Entra External ID / B2C hosts are Microsoft's but not in MSAL's instance discovery list.
  if (/\.(ciamlogin\.com|b2clogin\.com)$/.test(url.hostname)) return { protocolMode: 'AAD', knownAuthorities: [url.host] };
  return { protocolMode: 'OIDC', knownAuthorities: [url.host] };
}

export function chatSettingsFromEnv(env: Env): ChatSettings {
  const spaClientId = value(env, 'SPA_CLIENT_ID');
  if (!spaClientId) throw new ConfigError('SPA_CLIENT_ID', 'is required: the SPA\'s client id, the only client whose tokens are accepted');
  if (!/^[A-Za-z0-9._~:/-]{1,200}$/.test(spaClientId)) {
    throw new ConfigError('SPA_CLIENT_ID', `"${spaClientId}" is not a client id`);
  }
  const allowed = listFromEnv(env, 'AUTH_ALLOWED_CLIENT_IDS');
  if (allowed.length && (allowed.length !== 1 || allowed[0] !== spaClientId)) {
    throw new ConfigError('AUTH_ALLOWED_CLIENT_IDS', 'must be unset for the Chat App: SPA_CLIENT_ID is the only accepted client');
  }

  const endpointRaw = value(env, 'FOUNDRY_PROJECT_ENDPOINT');
  if (!endpointRaw) {
    throw new ConfigError('FOUNDRY_PROJECT_ENDPOINT', 'is required (https://<account>.services.ai.azure.com/api/projects/<project>)');
  }
  const foundryProjectEndpoint = checkAuthUrl('FOUNDRY_PROJECT_ENDPOINT', endpointRaw).replace(/\/+$/, '');
  if (/[?#]/.test(foundryProjectEndpoint)) {
    throw new ConfigError('FOUNDRY_PROJECT_ENDPOINT', `"${endpointRaw}" must not have a query or fragment`);
  }

  const tenantId = value(env, 'AUTH_TENANT_ID');
  const authorityRaw = value(env, 'AUTH_AUTHORITY');
  if (!authorityRaw && !tenantId) {
    throw new ConfigError('AUTH_AUTHORITY', 'is required when AUTH_TENANT_ID is not set (the authority MSAL signs in against)');
  }
  const authorityValue = authorityRaw ?? `https://login.microsoftonline.com/${tenantId}`;
  // MSAL refuses a non-https authority, even on loopback.
  if (!authorityValue.startsWith('https://')) throw new ConfigError('AUTH_AUTHORITY', `"${authorityValue}" must be an https URL`);
  const authority = checkAuthUrl('AUTH_AUTHORITY', authorityValue);

  // Auth rules of the shared module, with the SPA as the only accepted client.
  const auth = { ...authSettingsFromEnv(env), allowedClientIds: [spaClientId] };

  const scopes = listFromEnv(env, 'AUTH_SCOPES');
  for (const s of scopes) {
    if (/\s/.test(s)) throw new ConfigError('AUTH_SCOPES', `"${s}" contains whitespace; separate scopes with commas`);
  }

  const agentName = value(env, 'AGENT_NAME') ?? DEFAULT_AGENT_NAME;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(agentName)) {
    throw new ConfigError('AGENT_NAME', `"${agentName}" is not an agent name (letters, digits, '-', '_' and '.')`);
  }
  const keyRaw = value(env, 'AGENT_REFERENCE_KEY') ?? 'agent_reference';
  if (keyRaw !== 'agent_reference' && keyRaw !== 'agent') {
    throw new ConfigError('AGENT_REFERENCE_KEY', `"${keyRaw}" must be agent_reference (GA API) or agent (preview API)`);
  }
  const publicBase = value(env, 'PUBLIC_BASE_URL');

  return {
    port: integer(env, 'PORT', DEFAULT_PORT, 0, 65535),
    auth,
    spaClientId,
    msal: { authority, scopes: scopes.length ? scopes : [...DEFAULT_SCOPES], ...msalAuthority(authority) },
    foundryProjectEndpoint,
    agentName,
    agentTimeoutMs: integer(env, 'AGENT_TIMEOUT_MS', DEFAULT_AGENT_TIMEOUT_MS, 1, 3_600_000),
    agentReferenceKey: keyRaw,
    publicBaseUrl: publicBase ? checkAuthUrl('PUBLIC_BASE_URL', publicBase).replace(/\/+$/, '') : undefined,
  };
}

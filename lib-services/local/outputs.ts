// The local chain's URLs and settings as `terraform output -json` prints a deployed stack's, so
// that `verify` checks the local chain unchanged. Written by `npm run local` to .local/outputs.json.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LOCAL_MCP_CONNECTION } from './agent-runtime';
import type { LocalChain } from './chain';
import { listFromEnv } from '../shared/auth/config.js';
import { scopesSupported } from '../shared/auth/http.js';

type OutputValue = string | boolean | string[];
export type TerraformOutputs = Record<string, { value: OutputValue; type: unknown; sensitive: false }>;

const typeOf = (v: OutputValue) => (Array.isArray(v) ? ['list', 'string'] : typeof v === 'boolean' ? 'bool' : 'string');

/** The outputs of the stack (same names), from what the chain configured its services with. */
export function localOutputs(chain: LocalChain): TerraformOutputs {
  const orders = chain.env['orders-api'];
  const chat = chain.env['chat-app'];
  const ordersAudiences = listFromEnv(orders, 'AUTH_AUDIENCES');
  const chatAudiences = listFromEnv(chat, 'AUTH_AUDIENCES');
  const requiredScopes = [...new Set([...listFromEnv(orders, 'AUTH_REQUIRED_SCOPES'), ...listFromEnv(orders, 'ORDERS_READ_SCOPES'), ...listFromEnv(orders, 'ORDERS_WRITE_SCOPES')])];
  const values: Record<string, OutputValue> = {
    chat_app_url: chain.urls.chatApp,
    spa_client_id: chat.SPA_CLIENT_ID,
    orders_api_url: chain.urls.ordersApi,
    mcp_endpoint: chain.urls.ordersMcp,
    // No apim_gateway_url: there is no API Management locally.
    foundry_project_endpoint: chain.urls.agentProject,
    agent_name: chain.agentName,
    tenant_id: chain.oidc.tenantId,
    authority: chat.AUTH_AUTHORITY,
    spa_scopes: listFromEnv(chat, 'AUTH_SCOPES'),
    chat_app_audiences: chatAudiences,
    chat_app_required_scopes: listFromEnv(chat, 'AUTH_REQUIRED_SCOPES'),
    mcp_auth_mode: chain.mode,
    mcp_audiences: ordersAudiences,
    // Audience-bound: only the agent runtime's client; foundry-audience: the SPA's.
    mcp_allowed_client_ids: listFromEnv(orders, 'AUTH_ALLOWED_CLIENT_IDS'),
    orders_api_scopes: scopesSupported({ audiences: ordersAudiences, requiredScopes }),
    orders_api_gateway_proof: Boolean(orders.GATEWAY_AUDIENCE),
    mcp_connection_name: LOCAL_MCP_CONNECTION,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, type: typeOf(v), sensitive: false as const }]));
}

/** Writes `content` owner-only (a 0700 folder, a 0600 file) and returns a function that removes it again. */
function writePrivate(file: string, content: unknown): () => void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  chmodSync(dirname(file), 0o700);
  // Replaced, never rewritten in place: a file left by an older run may have wider permissions.
  rmSync(file, { force: true });
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return () => rmSync(file, { force: true });
}

export function writeLocalOutputs(chain: LocalChain, file: string): () => void {
  return writePrivate(file, localOutputs(chain));
}

/**
 * The agent runtime's client credentials at the local provider, so that `npm run local:token --
 * --for orders-api` can obtain what only the agent runtime obtains (as Foundry does in Azure): a
 * token for the Orders API by token exchange. A new secret on every start; the runner writes the
 * file into its own state folder (never a shared temp folder) and removes it when it stops.
 */
export interface AgentRuntimeCredentials {
  token_endpoint: string;
  client_id: string;
  client_secret: string;
  /** The audience to ask for (the Orders API's Application ID URI). */
  audience: string;
}

export function agentRuntimeCredentials(chain: LocalChain): AgentRuntimeCredentials {
  return {
    token_endpoint: chain.oidc.tokenEndpoint,
    client_id: chain.oidc.agentClient.clientId,
    client_secret: chain.oidc.agentClient.clientSecret,
    audience: chain.oidc.ordersApi.audiences[0],
  };
}

export function writeAgentRuntimeCredentials(chain: LocalChain, file: string): () => void {
  return writePrivate(file, agentRuntimeCredentials(chain));
}

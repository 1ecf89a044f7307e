// The local chain's URLs and settings as `terraform output -json` prints a deployed stack's, so
// that `verify` checks the local chain unchanged. Written by `npm run local` to .local/outputs.json.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
    // Audience-bound when the Orders API accepts another audience than the browser's token carries.
    mcp_auth_mode: ordersAudiences.some((a) => !chatAudiences.includes(a)) ? 'audience-bound' : 'foundry',
    mcp_audiences: ordersAudiences,
    orders_api_scopes: scopesSupported({ audiences: ordersAudiences, requiredScopes }),
    orders_api_gateway_proof: Boolean(orders.GATEWAY_AUDIENCE),
    mcp_connection_name: LOCAL_MCP_CONNECTION,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, type: typeOf(v), sensitive: false as const }]));
}

/** Writes the outputs (owner-only) and returns a function that removes them again. */
export function writeLocalOutputs(chain: LocalChain, file: string): () => void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(localOutputs(chain), null, 2)}\n`, { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

// The stack's outputs as `terraform output -json` prints them ({name: {value, type, sensitive}}),
// also accepted: plain {name: value} maps and cdktf's outputs file ({<stack>: {name: value}}).

/** What verify reads. The first seven are the stack's outputs today; the rest sharpen the checks when present. */
export interface StackOutputs {
  chatAppUrl: string;
  spaClientId: string;
  ordersApiUrl: string;
  mcpEndpoint: string;
  /** Absent without API Management (and locally). */
  apimGatewayUrl?: string;
  foundryProjectEndpoint: string;
  agentName: string;
  /** Entra tenant id (`tid` of every token). */
  tenantId?: string;
  /** The authority the SPA signs in against (`https://login.microsoftonline.com/<tenant>`, or a local issuer). */
  authority?: string;
  /** Scopes MSAL asks for (the Chat App's AUTH_SCOPES). */
  spaScopes?: string[];
  /** `aud` values the Chat App (and Foundry) accept in the user's token. */
  chatAppAudiences?: string[];
  /** Scopes of which the user's token must hold one (the Chat App's AUTH_REQUIRED_SCOPES, short names). */
  chatAppRequiredScopes?: string[];
  /**
   * `audience-bound` (the MCP hop gets a token for the Orders API's own audience, obtained by the
   * agent's client) or `foundry-audience` (the original's: the user's token for https://ai.azure.com).
   */
  mcpAuthMode: McpAuthMode;
  /** `aud` values accepted at the MCP endpoint (APIM and the Orders API). */
  mcpAudiences?: string[];
  /** Client ids (`azp`/`appid`) the MCP endpoint accepts; empty = any; absent = not stated. */
  mcpAllowedClientIds?: string[];
  /** Qualified scopes the MCP and Orders API metadata must list in `scopes_supported`. */
  ordersApiScopes?: string[];
  /** Whether the Orders API refuses requests that did not come through API Management. */
  ordersApiGatewayProof?: boolean;
  /** The MCP project connection the agent's tool must use (`project_connection_id`). */
  mcpConnectionName?: string;
}

export type McpAuthMode = 'audience-bound' | 'foundry-audience';
/** Accepted spellings of `mcp_auth_mode` (`foundry` is the older name of `foundry-audience`). */
const MODES: Record<string, McpAuthMode> = { 'audience-bound': 'audience-bound', 'foundry-audience': 'foundry-audience', 'foundry': 'foundry-audience' };

export class OutputsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputsError';
  }
}

const REQUIRED = ['chat_app_url', 'spa_client_id', 'orders_api_url', 'mcp_endpoint', 'foundry_project_endpoint', 'agent_name'] as const;

function unwrap(raw: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const wrapped = entry !== null && typeof entry === 'object' && !Array.isArray(entry) && ('value' in entry || 'sensitive' in entry);
    values[name] = wrapped ? (entry as { value?: unknown }).value : entry;
  }
  return values;
}

/** Parses the outputs JSON; throws OutputsError naming the missing or malformed output. */
export function parseOutputs(text: string, source: string): StackOutputs {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new OutputsError(`${source} is not JSON (${(err as Error).message}): pass the output of \`terraform output -json\``);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new OutputsError(`${source} must be a JSON object of outputs`);
  let obj = raw as Record<string, unknown>;
  // cdktf's --outputs-file nests the outputs under the stack name.
  const keys = Object.keys(obj);
  if (keys.length === 1 && !REQUIRED.includes(keys[0] as never) && typeof obj[keys[0]] === 'object') obj = obj[keys[0]] as Record<string, unknown>;
  const v = unwrap(obj);
  const missing = REQUIRED.filter((k) => v[k] === undefined || v[k] === null || v[k] === '');
  if (missing.length) throw new OutputsError(`${source} lacks the output(s) ${missing.join(', ')} (found: ${Object.keys(v).join(', ') || 'none'})`);

  const str = (name: string, url = false): string | undefined => {
    const value = v[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new OutputsError(`${source}: output ${name} must be a string, not ${JSON.stringify(value)}`);
    if (url) {
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw new OutputsError(`${source}: output ${name} is not a URL: ${JSON.stringify(value)}`);
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new OutputsError(`${source}: output ${name} must be an http(s) URL: ${value}`);
      return value.replace(/\/+$/, '');
    }
    return value;
  };
  const list = (name: string): string[] | undefined => {
    const value = v[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
    if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) throw new OutputsError(`${source}: output ${name} must be a list of strings`);
    return value as string[];
  };
  // Without the output, the original's mode (what a stack without audience binding runs).
  const modeName = str('mcp_auth_mode') ?? 'foundry-audience';
  const mode = Object.hasOwn(MODES, modeName) ? MODES[modeName] : undefined;
  if (!mode) throw new OutputsError(`${source}: output mcp_auth_mode must be "audience-bound" or "foundry-audience", not ${JSON.stringify(v.mcp_auth_mode)}`);
  const proof = v.orders_api_gateway_proof;
  if (proof !== undefined && proof !== null && typeof proof !== 'boolean') throw new OutputsError(`${source}: output orders_api_gateway_proof must be true or false`);
  return {
    chatAppUrl: str('chat_app_url', true)!,
    spaClientId: str('spa_client_id')!,
    ordersApiUrl: str('orders_api_url', true)!,
    mcpEndpoint: str('mcp_endpoint', true)!,
    apimGatewayUrl: str('apim_gateway_url', true),
    foundryProjectEndpoint: str('foundry_project_endpoint', true)!,
    agentName: str('agent_name')!,
    tenantId: str('tenant_id'),
    authority: str('authority', true),
    spaScopes: list('spa_scopes'),
    chatAppAudiences: list('chat_app_audiences'),
    chatAppRequiredScopes: list('chat_app_required_scopes'),
    mcpAuthMode: mode,
    mcpAudiences: list('mcp_audiences'),
    mcpAllowedClientIds: list('mcp_allowed_client_ids'),
    ordersApiScopes: list('orders_api_scopes'),
    ordersApiGatewayProof: typeof proof === 'boolean' ? proof : undefined,
    mcpConnectionName: str('mcp_connection_name'),
  };
}

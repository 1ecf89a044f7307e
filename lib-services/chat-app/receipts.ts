// The identity receipt of each tool call, from the `mcp_call` items of a Responses API answer.
// An mcp_call item has `server_label`, `name`, `arguments`, `output` / `error` (strings) and
// `status`; the Orders API's receipt is the tool result's `_meta.identity`, which reaches us only
// when the agent service keeps it in `output`/`error` (the local runtime does; Foundry: unproven).
// Anything absent or malformed gives "no receipt", never a failure.

export interface IdentityReceipt {
  service: string;
  oid: string;
  name?: string;
  aud?: string;
  azp?: string;
  scopes: string[];
  token_id?: string;
}

export interface ToolCallSummary {
  name: string;
  server_label: string;
  /** The item's status (`completed`, `failed`, ...), when given. */
  status?: string;
  receipt?: IdentityReceipt;
  /** The call was refused for a missing scope (403 insufficient_scope): the scope to ask for. */
  insufficient_scope?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX = 300;
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= MAX ? v : undefined);

function parsed(value: unknown): Record<string, unknown> | undefined {
  if (isRecord(value)) return value;
  if (typeof value !== 'string' || !value.startsWith('{') || value.length > 256 * 1024) return undefined;
  try {
    const v: unknown = JSON.parse(value);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A receipt only when it names at least the service and the user: the rest may be absent. */
export function receiptFrom(value: unknown): IdentityReceipt | undefined {
  const meta = isRecord(value) && isRecord(value._meta) ? value._meta : undefined;
  const identity = meta && isRecord(meta.identity) ? meta.identity : undefined;
  const service = text(identity?.service);
  const oid = text(identity?.oid);
  if (!identity || !service || !oid) return undefined;
  const scopes = Array.isArray(identity.scopes) ? identity.scopes.map(text).filter((s): s is string => s !== undefined).slice(0, 20) : [];
  return {
    service,
    oid,
    name: text(identity.name),
    aud: text(identity.aud),
    azp: text(identity.azp),
    scopes,
    token_id: text(identity.token_id),
  };
}

/** The scope of an insufficient_scope refusal, in the shapes we know (JSON, or the challenge's text). */
function insufficientScopeFrom(error: unknown): string | undefined {
  const body = parsed(error);
  if (body?.error === 'insufficient_scope') return text(body.scope) ?? '';
  const data = isRecord(body?.error) && isRecord(body.error.data) ? body.error.data : undefined;
  if (data?.error === 'insufficient_scope') return text(data.scope) ?? '';
  if (typeof error === 'string' && error.includes('insufficient_scope')) return /scope="([^"]{1,300})"/.exec(error)?.[1] ?? '';
  return undefined;
}

export function toolCallFrom(item: Record<string, unknown>): ToolCallSummary | undefined {
  if (item.type !== 'mcp_call') return undefined;
  const summary: ToolCallSummary = { name: text(item.name) ?? '', server_label: text(item.server_label) ?? '' };
  const status = text(item.status);
  if (status) summary.status = status;
  const receipt = receiptFrom(parsed(item.output)) ?? receiptFrom(parsed(item.error));
  if (receipt) summary.receipt = receipt;
  const scope = insufficientScopeFrom(item.error);
  if (scope !== undefined) summary.insufficient_scope = scope;
  return summary;
}

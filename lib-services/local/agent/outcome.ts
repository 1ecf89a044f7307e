// What the agent runtime keeps of an MCP exchange besides the text: the identity receipt of a
// tool result, and the scope named by a 403 insufficient_scope refusal.

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `_meta.identity` of a tool result, when the server sent one. */
export function receiptOf(result: { _meta?: unknown }): Record<string, unknown> | undefined {
  const identity = isRecord(result._meta) ? result._meta.identity : undefined;
  return isRecord(identity) ? identity : undefined;
}

/**
 * The scope of a 403 insufficient_scope refusal, from the text of the SDK's HTTP error (it holds
 * the response body: the Orders API's JSON-RPC error, whose `data` names the scope).
 */
export function scopeRefusalOf(message: string): string | undefined {
  const start = message.indexOf('{');
  if (start < 0) return undefined;
  try {
    const body: unknown = JSON.parse(message.slice(start));
    const data = isRecord(body) && isRecord(body.error) ? body.error.data : undefined;
    if (isRecord(data) && data.error === 'insufficient_scope' && typeof data.scope === 'string' && data.scope) return data.scope;
  } catch {
    // not the Orders API's body
  }
  return undefined;
}

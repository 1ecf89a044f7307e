/**
 * The identity receipt: on every MCP tool result (success or isError), `_meta.identity` says what
 * the Orders API verified for that call. Identifiers only, never the token.
 */
import type { Principal } from '../shared/auth/index.js';

export interface IdentityReceipt {
  service: 'orders-api';
  oid: string;
  name: string | null;
  /** The verified token's audience (the accepted one when `aud` is a list). */
  aud: string | null;
  /** The client the token was issued to (`azp` / `appid`). */
  azp: string;
  scopes: string[];
  /** `jti`, or Entra's `uti`. */
  token_id: string | null;
}

// Keyed by the verifier's cached principal: built once per token, not per request.
const receipts = new WeakMap<Principal, IdentityReceipt>();

/** From what the verifier checked: `aud` is the accepted one of the token's audiences. */
export function identityReceipt(principal: Principal, acceptedAudiences: readonly string[]): IdentityReceipt {
  const cached = receipts.get(principal);
  if (cached) return cached;
  const list = principal.audiences ?? [];
  const aud = list.find((a) => acceptedAudiences.includes(a)) ?? list[0] ?? null;
  const receipt: IdentityReceipt = {
    service: 'orders-api',
    oid: principal.oid,
    name: principal.name ?? null,
    aud,
    azp: principal.clientId,
    scopes: [...principal.scopes],
    token_id: principal.tokenId ?? null,
  };
  receipts.set(principal, receipt);
  return receipt;
}

type Outgoing = { result?: { content?: unknown; _meta?: Record<string, unknown> } };

/**
 * Adds `_meta.identity` to every tool result the transport sends. At the transport rather than in
 * each tool, so that the results the SDK makes itself (bad input, unknown tool) carry it too.
 * A tool result is the only server result with a `content` array.
 */
export function stampToolResults<T extends { send: (message: never, ...rest: never[]) => Promise<void> }>(transport: T, receipt: IdentityReceipt): T {
  const send = transport.send.bind(transport) as (message: unknown, ...rest: unknown[]) => Promise<void>;
  (transport as { send: unknown }).send = (message: unknown, ...rest: unknown[]) => {
    const result = (message as Outgoing | undefined)?.result;
    if (result && Array.isArray(result.content)) result._meta = { ...result._meta, identity: receipt };
    return send(message, ...rest);
  };
  return transport;
}

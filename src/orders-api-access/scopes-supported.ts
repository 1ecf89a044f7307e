import { OrdersApiScopes } from './scopes';

/**
 * The Orders API's RFC 9728 `scopes_supported`, by the service's own rule: its required scopes
 * and, with per-operation scopes, the read and the write scope (lib-services/orders-api/access.ts
 * `advertisedScopeSettings`), each short name qualified by the first accepted audience, as a
 * client asks Entra for it; `<audience>/.default` when there are none
 * (lib-services/shared/auth/http.ts `scopesSupported`). API Management's metadata and the stack's
 * `orders_api_scopes` output use it, so they list what the Orders API lists.
 */
export function ordersApiScopesSupported(audiences: string[], requiredScopes: string[], scopes?: OrdersApiScopes): string[] {
  const audience = audiences[0];
  const names = [...new Set([...requiredScopes, ...(scopes ? [scopes.read, scopes.write] : [])])];
  if (names.length === 0) return [`${audience}/.default`];
  return names.map((s) => (s.includes('://') || s.startsWith(`${audience}/`) ? s : `${audience}/${s}`));
}

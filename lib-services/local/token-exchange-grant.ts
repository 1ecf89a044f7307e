// OAuth 2.0 Token Exchange (RFC 8693) as a grant of the local OpenID provider: the agent runtime
// (a confidential client) presents the signed-in user's token for the agent's audience and gets,
// for the same user, a token for the Orders API's own audience. This is what Foundry's
// UserEntraToken connection does against Entra (there with Entra's on-behalf-of flow).
import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { OrdersApiScopes } from '../../src/orders-api-access/scopes';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const MAX_LIFETIME_SEC = 3600;

export interface OrdersApiResource {
  clientId: string;
  /** Accepted `aud` forms: `api://<client id>` (v1 tokens) and the client id (v2 tokens). */
  audiences: string[];
  scopes: OrdersApiScopes;
}

export interface TokenExchangeSettings {
  issuer: string;
  signingKey: { privateKey: CryptoKey; publicKey: CryptoKey; kid: string };
  /** The subject token must be for this audience (the agent's, as Foundry's tokens are for https://ai.azure.com)... */
  subjectAudience: string;
  /** ...and issued to this client (the Chat App's SPA). */
  subjectClientId: string;
  tenantId: string;
  ordersApi: OrdersApiResource;
  users: ReadonlyMap<string, { oid: string; name: string; username: string; mayChangeOrders: boolean }>;
}

type Ctx = {
  oidc: { params: Record<string, unknown>; client?: { clientId: string } };
  body?: unknown;
};

/** oidc-provider's InvalidGrant has a fixed description; this one says what is wrong. */
function invalidGrant(description: string): Error {
  return Object.assign(new errors.InvalidGrant(), { error_description: description });
}

/** `api://<id>/Orders.Read`, `<id>/Orders.Read` or `Orders.Read` -> `Orders.Read`; another resource's scope -> undefined. */
function shortScope(scope: string, api: OrdersApiResource): string | undefined {
  for (const aud of api.audiences) {
    if (scope.startsWith(`${aud}/`)) return scope.slice(aud.length + 1);
  }
  return scope.includes('/') ? undefined : scope;
}

export function registerTokenExchange(provider: Provider, settings: TokenExchangeSettings): void {
  const { ordersApi } = settings;
  const known = [ordersApi.scopes.read, ordersApi.scopes.write];

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, async (ctx: Ctx) => {
    const { params, client } = ctx.oidc;
    const param = (name: string) => (typeof params[name] === 'string' && params[name] ? params[name] as string : undefined);

    const subjectToken = param('subject_token');
    if (!subjectToken) throw new errors.InvalidRequest('subject_token is required');
    const subjectType = param('subject_token_type');
    if (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== JWT_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const requestedType = param('requested_token_type');
    if (requestedType && requestedType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    const target = param('audience');
    if (!target || !ordersApi.audiences.includes(target.replace(/\/+$/, ''))) {
      throw new errors.InvalidTarget(`audience must name the Orders API (${ordersApi.audiences.join(' or ')})`);
    }

    let subject;
    try {
      ({ payload: subject } = await jwtVerify(subjectToken, settings.signingKey.publicKey, {
        issuer: settings.issuer,
        audience: settings.subjectAudience,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch {
      // The reason stays generic: nothing of the token is echoed.
      throw invalidGrant('subject_token is not a valid, unexpired token of this issuer for the agent');
    }
    if (subject.azp !== settings.subjectClientId || !String(subject.scp ?? '').split(' ').includes('user_impersonation')) {
      throw invalidGrant('subject_token was not issued to the Chat App for the agent');
    }
    const user = settings.users.get(String(subject.sub));
    if (!user || subject.oid !== user.oid) throw invalidGrant('subject_token names no known user');

    const asked = String(params.scope ?? '').split(' ').filter(Boolean);
    const requested = asked.length ? asked.map((s) => shortScope(s, ordersApi)) : known;
    if (requested.some((s) => s === undefined || !known.includes(s))) {
      throw new errors.InvalidScope(`scope may name only the Orders API's scopes (${known.join(', ')})`);
    }
    // Only what the user may have: the write scope is never granted to a read-only user.
    const granted = [...new Set(requested as string[])].filter((s) => s !== ordersApi.scopes.write || user.mayChangeOrders);
    if (granted.length === 0) throw new errors.InvalidScope('the user may not be granted any of the requested scopes');

    const now = Math.floor(Date.now() / 1000);
    // Never outlives the token it was exchanged for.
    const exp = Math.min(now + MAX_LIFETIME_SEC, Number(subject.exp));
    const accessToken = await new SignJWT({
      oid: user.oid,
      tid: settings.tenantId,
      name: user.name,
      preferred_username: `${user.username}@local.test`,
      azp: client!.clientId,
      scp: granted.join(' '),
      ver: '2.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: settings.signingKey.kid })
      .setIssuer(settings.issuer)
      .setSubject(String(subject.sub))
      // Entra v2 tokens carry the resource's client id in `aud`.
      .setAudience(ordersApi.clientId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(settings.signingKey.privateKey);

    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: exp - now,
      scope: granted.map((s) => `${ordersApi.audiences[0]}/${s}`).join(' '),
    };
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'scope', 'actor_token', 'actor_token_type']);
}

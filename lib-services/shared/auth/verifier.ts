/**
 * Bearer token verification against Entra ID (or any OpenID issuer) with jose.
 *
 * RS256 (what Entra signs with) is verified by `node:crypto` synchronously against a KeyObject
 * imported once per key, and its claims by jose's own claim validation; every other algorithm
 * and every unusual header goes through jose's `jwtVerify` as a whole. jose itself loads on the
 * first token, not at start-up.
 */
import { createPublicKey, verify as verifyRsa, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK, JWTPayload, JWTVerifyOptions } from 'jose';
import type { AuthSettings } from './config.js';
import { lazy } from '../lazy.js';

const loadJose = lazy(() => import('jose'));
type Jose = Awaited<ReturnType<typeof loadJose>>;

export interface Principal {
  oid: string;
  sub: string;
  tid?: string;
  name?: string;
  username?: string;
  /** `azp` (v2) or `appid` (v1). */
  clientId: string;
  scopes: string[];
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
  /** The token's own id (`jti`, or Entra's `uti`): an identifier, safe to log, unlike the token. */
  tokenId?: string;
  /** The verified `aud` claim, as a list. */
  audiences?: string[];
  /** The raw bearer token, kept only to pass on; NEVER logged. */
  token: string;
}

export type AuthErrorCode = 'invalid_token' | 'insufficient_scope';

/** A token the service refuses: 401 invalid_token, or 403 insufficient_scope. Messages never hold token text. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: 401 | 403;
  /** No token at all (the challenge then carries no error code). */
  readonly missing: boolean;
  constructor(code: AuthErrorCode, message: string, missing = false) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
    this.status = code === 'insufficient_scope' ? 403 : 401;
    this.missing = missing;
  }
}

/** Signing keys could not be obtained at all (issuer unreachable before the first fetch): 503, not the caller's fault. */
export class AuthUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthUnavailableError';
  }
}

export interface TokenVerifier {
  /** Resolves with the principal or rejects with AuthError (or AuthUnavailableError). */
  verify(token: string): Promise<Principal>;
}

/** An app-only caller (a workload identity, e.g. a gateway's managed identity), verified by {@link AppTokenVerifier}. */
export interface AppPrincipal {
  /** Object id of the calling service principal (a managed identity's principal id). */
  oid: string;
  tid?: string;
  /** `azp` (v2) or `appid` (v1), when present. */
  clientId?: string;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
  /** `jti` or `uti`: safe to log, unlike the token. */
  tokenId?: string;
}

/** What an app-only token must satisfy beyond the shared issuer, key, tenant and lifetime checks. */
export interface AppTokenExpectation {
  /** Accepted `aud` values (at least one); independent of the user tokens' audiences. */
  audiences: string[];
  /** Accepted `oid` values: the object ids of the service principals allowed to call. */
  principalIds: string[];
}

/**
 * App-token mode of the same verifier: same issuers, signing keys (one JWKS cache) and tenant
 * as user tokens, but its own audience, an allow-list of caller object ids, and no `scp`.
 */
export interface AppTokenVerifier {
  /** Resolves with the app principal or rejects with AuthError (or AuthUnavailableError). */
  verifyAppToken(token: string, expected: AppTokenExpectation): Promise<AppPrincipal>;
}

export interface TokenVerifierOptions {
  fetch?: typeof fetch;
  /** Keys are refreshed in the background after this age (default 10 min); stale keys stay usable. */
  keysMaxAgeMs?: number;
  /** At most one JWKS fetch per this interval for unknown kids or failures (default 30 s). */
  refetchCooldownMs?: number;
  /** Verified-token cache size (default 10,000). */
  cacheSize?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Longest accepted token; Entra tokens are a few KB. Keeps hashing and parsing bounded. */
export const MAX_TOKEN_LENGTH = 12_000;
/** Asymmetric algorithms only: `none` and HS* can never verify. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** `{"alg":"none"}`: the header under which jose validates the claims of an already verified RS256 payload. */
const UNSECURED_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

function validKid(kid: unknown): kid is string {
  return typeof kid === 'string' && kid.length > 0 && kid.length <= 256;
}
const FETCH_TIMEOUT_MS = 5_000;

/** Cached JWKS: fetched once, refreshed in the background, kept while the issuer is down. */
class SigningKeys {
  private jwks = new Map<string, JWK>();
  private imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  /** RS256 KeyObjects by kid; null: the JWK is not for this fast path. */
  private rsaKeys = new Map<string, KeyObject | null>();
  private jwksUri: string | undefined;
  private fetchedAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  /** JWKS fetches made (for tests and metrics). */
  fetches = 0;

  constructor(
    private readonly settings: AuthSettings,
    private readonly fetchFn: typeof fetch,
    private readonly maxAgeMs: number,
    private readonly cooldownMs: number,
    private readonly now: () => number,
  ) {
    this.jwksUri = settings.jwksUri;
  }

  /** The JWK for `kid`, fetching or refreshing the set as needed; refuses unknown kids and an `alg` its JWK contradicts. */
  private async jwk(kid: string, alg: string): Promise<JWK> {
    const now = this.now();
    if (this.fetchedAt === 0) {
      // Nothing cached yet: fetch, but not more than once per cooldown while the issuer fails.
      // Concurrent first requests share the one in-flight fetch.
      if (this.inflight || now - this.lastAttempt >= Math.min(this.cooldownMs, 5_000)) await this.refresh().catch(() => undefined);
      if (this.fetchedAt === 0) throw new AuthUnavailableError('token signing keys are not available yet');
    } else if (now - this.fetchedAt > this.maxAgeMs && now - this.lastAttempt >= this.cooldownMs) {
      // Stale: refresh in the background and keep using what we have.
      void this.refresh().catch(() => undefined);
    }
    let jwk = this.jwks.get(kid);
    if (!jwk && (this.inflight || this.now() - this.lastAttempt >= this.cooldownMs)) {
      // Possibly a rotated key: one refetch, then a cooldown so unknown kids cannot hammer the issuer.
      await this.refresh().catch(() => undefined);
      jwk = this.jwks.get(kid);
    }
    if (!jwk) throw new AuthError('invalid_token', 'the token is signed with an unknown key');
    if (jwk.alg && jwk.alg !== alg) throw new AuthError('invalid_token', 'the token algorithm does not match its key');
    return jwk;
  }

  /** The key as jose imports it (WebCrypto), for jose's `jwtVerify`. */
  async key(jose: Jose, kid: string, alg: string): Promise<CryptoKey | Uint8Array> {
    const jwk = await this.jwk(kid, alg);
    const cacheKey = `${kid}\u0000${alg}`;
    let imported = this.imported.get(cacheKey);
    if (!imported) {
      imported = jose.importJWK(jwk, alg);
      this.imported.set(cacheKey, imported);
      imported.catch(() => this.imported.delete(cacheKey));
    }
    try {
      return await imported;
    } catch {
      throw new AuthError('invalid_token', 'the token algorithm does not match its key');
    }
  }

  /**
   * The key as a node:crypto KeyObject for RS256, imported once per kid; undefined when the JWK is
   * not one jose would accept for RS256 verification (not RSA, under 2048 bits, `key_ops` without
   * `verify`), which then goes to jose to be refused exactly as before.
   */
  async rsaKey(kid: string): Promise<KeyObject | undefined> {
    const jwk = await this.jwk(kid, 'RS256');
    const cached = this.rsaKeys.get(kid);
    if (cached !== undefined) return cached ?? undefined;
    let key: KeyObject | null = null;
    if (jwk.kty === 'RSA' && (jwk.key_ops === undefined || jwk.key_ops.includes('verify'))) {
      try {
        const k = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
        if ((k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) key = k;
      } catch {
        key = null;
      }
    }
    this.rsaKeys.set(kid, key);
    return key ?? undefined;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.lastAttempt = this.now();
    if (!this.jwksUri) {
      const issuer = this.settings.discoveryIssuer!.replace(/\/+$/, '');
      const doc = await this.getJson(`${issuer}/.well-known/openid-configuration`) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
      this.jwksUri = doc.jwks_uri;
    }
    this.fetches++;
    const body = await this.getJson(this.jwksUri) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error('JWKS has no keys');
    const next = new Map<string, JWK>();
    for (const k of body.keys as JWK[]) {
      if (typeof k?.kid !== 'string' || k.use === 'enc') continue;
      if (k.kty !== 'RSA' && k.kty !== 'EC') continue;
      next.set(k.kid, k);
    }
    if (next.size === 0) throw new Error('JWKS has no usable signing keys');
    for (const cacheKey of [...this.imported.keys()]) {
      const kid = cacheKey.split('\u0000')[0];
      if (JSON.stringify(next.get(kid)) !== JSON.stringify(this.jwks.get(kid))) this.imported.delete(cacheKey);
    }
    for (const kid of [...this.rsaKeys.keys()]) {
      if (JSON.stringify(next.get(kid)) !== JSON.stringify(this.jwks.get(kid))) this.rsaKeys.delete(kid);
    }
    this.jwks = next;
    this.fetchedAt = this.now();
  }

  private async getJson(url: string): Promise<unknown> {
    const res = await this.fetchFn(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    return res.json();
  }
}

/**
 * Bounded cache of verified tokens keyed by the whole token (exact match; the principal holds the
 * token anyway, so keying by it stores nothing new and saves a hash per request). The oldest entry
 * goes first when full (a hit does not reorder: two fewer map operations on a long key per
 * request); entries die with the token.
 */
class VerifiedTokenCache<P extends { expiresAt: number } = Principal> {
  private entries = new Map<string, P>();
  constructor(private readonly max: number) {}

  get(key: string, nowSec: number): P | undefined {
    const p = this.entries.get(key);
    if (!p) return undefined;
    if (p.expiresAt <= nowSec) {
      this.entries.delete(key);
      return undefined;
    }
    return p;
  }

  set(key: string, p: P): void {
    if (this.max <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, p);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

function claimString(payload: JWTPayload, name: string): string | undefined {
  const v = payload[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Maps jose's failure to a message that names the problem and never echoes token content. */
function joseMessage(joseErrors: Jose['errors'], err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss': return 'the token issuer is not accepted';
      case 'aud': return 'the token audience is not accepted';
      case 'nbf': return 'the token is not valid yet';
      case 'exp': return 'the token has no valid expiry';
      case 'iat': return 'the token issue time is invalid';
      default: return 'a token claim is invalid';
    }
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
  return 'the token is malformed';
}

export function createTokenVerifier(
  settings: AuthSettings,
  options: TokenVerifierOptions = {},
): TokenVerifier & AppTokenVerifier & { readonly jwksFetches: number } {
  const now = options.now ?? Date.now;
  const keys = new SigningKeys(
    settings,
    options.fetch ?? fetch,
    options.keysMaxAgeMs ?? 10 * 60_000,
    options.refetchCooldownMs ?? 30_000,
    now,
  );
  const cache = new VerifiedTokenCache(options.cacheSize ?? 10_000);
  // App tokens in their own cache: a token verified in one mode never answers for the other.
  const appCache = new VerifiedTokenCache<AppPrincipal>(Math.min(options.cacheSize ?? 10_000, 1_000));
  const required = new Set(settings.requiredScopes);

  const claimOptions = (audiences: string[]): JWTVerifyOptions => ({
    algorithms: ACCEPTED_ALGORITHMS,
    issuer: settings.issuers,
    audience: audiences,
    clockTolerance: settings.clockToleranceSec,
    requiredClaims: ['exp'],
    currentDate: new Date(now()),
  });

  /**
   * RS256 with a plain header (no `crit`, no `b64`) and an RSA key jose would accept: the signature
   * by node:crypto (synchronous, no WebCrypto key or thread-pool round trip), then jose's own claim
   * validation of the payload (it validates an unsecured JWT's claims with the same code as
   * `jwtVerify`'s). Undefined: not such a token, jose's `jwtVerify` decides.
   */
  async function verifyRs256(jose: Jose, token: string, audiences: string[]): Promise<JWTPayload | undefined> {
    let header: ReturnType<Jose['decodeProtectedHeader']>;
    try {
      header = jose.decodeProtectedHeader(token);
    } catch {
      return undefined;
    }
    if (header.alg !== 'RS256' || 'crit' in header || 'b64' in header || !validKid(header.kid)) return undefined;
    const key = await keys.rsaKey(header.kid);
    if (!key) return undefined;
    const signed = token.lastIndexOf('.');
    let valid: boolean;
    try {
      valid = verifyRsa('sha256', Buffer.from(token.slice(0, signed), 'latin1'), key, Buffer.from(token.slice(signed + 1), 'base64url'));
    } catch {
      valid = false;
    }
    if (!valid) throw new AuthError('invalid_token', 'the token signature is invalid');
    const payload = token.slice(token.indexOf('.') + 1, signed);
    try {
      return jose.UnsecuredJWT.decode(`${UNSECURED_HEADER}.${payload}.`, claimOptions(audiences)).payload;
    } catch (err) {
      throw new AuthError('invalid_token', joseMessage(jose.errors, err));
    }
  }

  /** Shape, algorithm, key, signature, issuer, audience, lifetime and tenant: the checks both modes share. */
  async function verifySigned(token: string, audiences: string[]): Promise<JWTPayload> {
    const jose = await loadJose();
    let payload = await verifyRs256(jose, token, audiences);
    if (!payload) {
      try {
        // The key comes from a resolver, so jose parses the protected header once (for us and for itself).
        ({ payload } = await jose.jwtVerify(token, (header) => {
          // jose has already refused any alg outside ACCEPTED_ALGORITHMS (JOSEAlgNotAllowed).
          if (!validKid(header.kid)) throw new AuthError('invalid_token', 'the token names no signing key');
          return keys.key(jose, header.kid, header.alg);
        }, claimOptions(audiences)));
      } catch (err) {
        if (err instanceof AuthError || err instanceof AuthUnavailableError) throw err;
        throw new AuthError('invalid_token', joseMessage(jose.errors, err));
      }
    }
    if (settings.tenantId && payload.tid !== settings.tenantId) {
      throw new AuthError('invalid_token', 'the token belongs to another tenant');
    }
    return payload;
  }

  async function verifyUncached(token: string): Promise<Principal> {
    const payload = await verifySigned(token, settings.audiences);
    const clientId = claimString(payload, 'azp') ?? claimString(payload, 'appid');
    if (!clientId) throw new AuthError('invalid_token', 'the token names no client (azp/appid)');
    if (settings.allowedClientIds.length > 0 && !settings.allowedClientIds.includes(clientId)) {
      throw new AuthError('invalid_token', 'the token was issued to a client that is not allowed');
    }
    const scp = claimString(payload, 'scp');
    if (!scp) throw new AuthError('invalid_token', 'only delegated user tokens are accepted (the token has no scp)');
    const oid = claimString(payload, 'oid');
    if (!oid) throw new AuthError('invalid_token', 'the token has no oid');
    const scopes = scp.split(' ').filter(Boolean);
    if (required.size > 0 && !scopes.some((s) => required.has(s))) {
      throw new AuthError('insufficient_scope', `the token lacks a required scope (one of: ${[...required].join(', ')})`);
    }
    return {
      oid,
      sub: claimString(payload, 'sub') ?? oid,
      tid: claimString(payload, 'tid'),
      name: claimString(payload, 'name'),
      username: claimString(payload, 'preferred_username') ?? claimString(payload, 'upn') ?? claimString(payload, 'unique_name'),
      clientId,
      scopes,
      expiresAt: payload.exp!,
      tokenId: claimString(payload, 'jti') ?? claimString(payload, 'uti'),
      audiences: typeof payload.aud === 'string' ? [payload.aud] : payload.aud,
      token,
    };
  }

  async function verifyAppUncached(token: string, audiences: string[]): Promise<AppPrincipal> {
    const payload = await verifySigned(token, audiences);
    // App-only: a delegated token (a user's) carries scp; Entra marks app tokens idtyp=app when it says at all.
    if (payload.scp !== undefined) throw new AuthError('invalid_token', 'only app-only tokens are accepted here (the token has scp)');
    const idtyp = claimString(payload, 'idtyp');
    if (idtyp !== undefined && idtyp !== 'app') throw new AuthError('invalid_token', 'only app-only tokens are accepted here');
    const oid = claimString(payload, 'oid');
    if (!oid) throw new AuthError('invalid_token', 'the token has no oid');
    return {
      oid,
      tid: claimString(payload, 'tid'),
      clientId: claimString(payload, 'azp') ?? claimString(payload, 'appid'),
      expiresAt: payload.exp!,
      tokenId: claimString(payload, 'jti') ?? claimString(payload, 'uti'),
    };
  }

  return {
    get jwksFetches() {
      return keys.fetches;
    },
    async verify(token: string): Promise<Principal> {
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('invalid_token', 'the token is too large');
      // A cached token passed every check below when it was first seen.
      const hit = cache.get(token, now() / 1000);
      if (hit) return hit;
      if (!JWS_COMPACT.test(token)) throw new AuthError('invalid_token', 'the token is malformed');
      const principal = await verifyUncached(token);
      cache.set(token, principal);
      return principal;
    },
    async verifyAppToken(token: string, expected: AppTokenExpectation): Promise<AppPrincipal> {
      if (expected.audiences.length === 0 || expected.principalIds.length === 0) {
        throw new Error('verifyAppToken needs at least one audience and one principal id');
      }
      if (token.length > MAX_TOKEN_LENGTH) throw new AuthError('invalid_token', 'the token is too large');
      if (!JWS_COMPACT.test(token)) throw new AuthError('invalid_token', 'the token is malformed');
      // Keyed by the accepted audiences too: a token verified for one audience set never answers for another.
      const cacheKey = `${token}\u0000${expected.audiences.join('\u0000')}`;
      let principal = appCache.get(cacheKey, now() / 1000);
      if (!principal) {
        principal = await verifyAppUncached(token, expected.audiences);
        appCache.set(cacheKey, principal);
      }
      // Checked on every call, cached or not: the allow-list is the caller's, not the cache's.
      const oid = principal.oid.toLowerCase();
      if (!expected.principalIds.some((id) => id.toLowerCase() === oid)) {
        throw new AuthError('invalid_token', 'the token was issued to a caller that is not allowed');
      }
      return principal;
    },
  };
}

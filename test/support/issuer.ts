/**
 * A real OpenID issuer on loopback for tests: discovery document and JWKS over HTTP, RSA test
 * keys, Entra-shaped tokens. Switches take it down and rotate its keys; counters show how often
 * services fetched keys.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';

export interface TestUser {
  oid: string;
  name: string;
  preferred_username: string;
}

/** Well-known test users. */
export const USERS = {
  alice: { oid: '11111111-aaaa-4aaa-8aaa-111111111111', name: 'Alice Anders', preferred_username: 'alice@contoso.test' },
  bob: { oid: '22222222-bbbb-4bbb-8bbb-222222222222', name: 'Bob Berg', preferred_username: 'bob@contoso.test' },
  carol: { oid: '33333333-cccc-4ccc-8ccc-333333333333', name: 'Carol Admin', preferred_username: 'carol@contoso.test' },
} satisfies Record<string, TestUser>;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function generateSigningKey(kid = `test-${randomUUID().slice(0, 8)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicKey, publicJwk };
}

export interface MintOptions {
  /** Whose token (default alice). */
  user?: TestUser;
  /** Claims merged over the defaults; a value of `undefined` removes the claim. */
  claims?: Record<string, unknown>;
  /** Protected header fields merged over `{alg: 'RS256', typ: 'JWT', kid}`. */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the issuer's current key (the header keeps `kid` unless overridden). */
  key?: SigningKey;
  /** Lifetime in seconds (default 3600). */
  lifetimeSec?: number;
}

export interface TestIssuerOptions {
  tenantId?: string;
  audience?: string;
  clientId?: string;
  /** `scp` of minted tokens (default `user_impersonation`). */
  scope?: string;
}

export interface ServiceAuthEnvOptions {
  /** Configure AUTH_TENANT_ID (+ AUTH_JWKS_URI, since the tenant's discovery is on the internet). Default true. */
  tenant?: boolean;
  /** Use OpenID discovery of the issuer instead of AUTH_JWKS_URI (only without tenant). */
  discovery?: boolean;
  /** AUTH_REQUIRED_SCOPES (default: the issuer's scope). */
  requiredScopes?: string[];
  /** AUTH_ALLOWED_CLIENT_IDS (default: the issuer's client id). */
  allowedClientIds?: string[];
}

export class TestIssuer {
  static async start(options: TestIssuerOptions = {}): Promise<TestIssuer> {
    const issuer = new TestIssuer(options, await generateSigningKey());
    await issuer.listen();
    return issuer;
  }

  readonly tenantId: string;
  readonly audience: string;
  readonly clientId: string;
  readonly scope: string;
  /** Keys published in the JWKS; the first signs new tokens. */
  keys: SigningKey[];
  /** While true, every request's socket is destroyed (issuer unreachable). */
  down = false;
  jwksRequests = 0;
  discoveryRequests = 0;
  private server: Server | undefined;
  private port = 0;

  private constructor(options: TestIssuerOptions, key: SigningKey) {
    this.tenantId = options.tenantId ?? randomUUID();
    this.audience = options.audience ?? 'https://ai.azure.com';
    this.clientId = options.clientId ?? randomUUID();
    this.scope = options.scope ?? 'user_impersonation';
    this.keys = [key];
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The `iss` of minted tokens (Entra v2 shape). */
  get issuer(): string {
    return `${this.origin}/${this.tenantId}/v2.0`;
  }

  get jwksUri(): string {
    return `${this.origin}/${this.tenantId}/discovery/v2.0/keys`;
  }

  get currentKey(): SigningKey {
    return this.keys[0];
  }

  /** Environment for a service that should accept this issuer's tokens. */
  env(options: ServiceAuthEnvOptions = {}): Record<string, string> {
    const tenant = options.tenant ?? !options.discovery;
    const env: Record<string, string> = {
      AUTH_ISSUERS: this.issuer,
      AUTH_AUDIENCES: this.audience,
      AUTH_REQUIRED_SCOPES: (options.requiredScopes ?? [this.scope]).join(','),
      AUTH_ALLOWED_CLIENT_IDS: (options.allowedClientIds ?? [this.clientId]).join(','),
    };
    if (tenant) env.AUTH_TENANT_ID = this.tenantId;
    if (tenant || !options.discovery) env.AUTH_JWKS_URI = this.jwksUri;
    return env;
  }

  /** Replaces the signing key; the old one stays published only when `keepOld`. */
  async rotate(options: { keepOld?: boolean } = {}): Promise<SigningKey> {
    const key = await generateSigningKey();
    this.keys = options.keepOld ? [key, ...this.keys] : [key];
    return key;
  }

  /** An Entra-shaped access token. */
  async mint(options: MintOptions = {}): Promise<string> {
    const user = options.user ?? USERS.alice;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.audience,
      sub: `sub-${user.oid}`,
      oid: user.oid,
      tid: this.tenantId,
      azp: this.clientId,
      scp: this.scope,
      name: user.name,
      preferred_username: user.preferred_username,
      iat: now,
      nbf: now,
      exp: now + (options.lifetimeSec ?? 3600),
      jti: randomUUID(),
      ver: '2.0',
    };
    for (const [k, v] of Object.entries(options.claims ?? {})) {
      if (v === undefined) delete claims[k];
      else claims[k] = v;
    }
    const key = options.key ?? this.currentKey;
    const header = { alg: 'RS256', typ: 'JWT', kid: this.currentKey.kid, ...options.header };
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
  }

  /**
   * An Entra-shaped app-only token (client credentials / managed identity): no `scp`, no user
   * claims, `oid` = `sub` = the calling service principal, `idtyp: app`. `claims` override as in `mint`.
   */
  async mintAppOnly(options: { audience: string; principalId: string; clientId?: string } & Omit<MintOptions, 'user'>): Promise<string> {
    return this.mint({
      ...options,
      claims: {
        aud: options.audience,
        oid: options.principalId,
        sub: options.principalId,
        azp: options.clientId ?? randomUUID(),
        idtyp: 'app',
        scp: undefined,
        name: undefined,
        preferred_username: undefined,
        ...options.claims,
      },
    });
  }

  /** The `Authorization` header value for a fresh token. */
  async bearer(options: MintOptions = {}): Promise<string> {
    return `Bearer ${await this.mint(options)}`;
  }

  /** PEM of the current public key (for the "HS256 signed with the public key" attack). */
  publicKeyPem(): Promise<string> {
    return exportSPKI(this.currentKey.publicKey);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === `/${this.tenantId}/v2.0/.well-known/openid-configuration`) {
      this.discoveryRequests++;
      send(200, {
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        authorization_endpoint: `${this.origin}/${this.tenantId}/oauth2/v2.0/authorize`,
        token_endpoint: `${this.origin}/${this.tenantId}/oauth2/v2.0/token`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (path === `/${this.tenantId}/discovery/v2.0/keys`) {
      this.jwksRequests++;
      send(200, { keys: this.keys.map((k) => k.publicJwk) });
    } else {
      send(404, { error: 'not_found' });
    }
  }
}

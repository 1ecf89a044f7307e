// A real OpenID provider on loopback for the local chain and the browser tests: the
// `oidc-provider` package in-process over https, issuing access tokens shaped like Entra's
// so the services validate them with exactly the code they run in Azure.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { registerTokenExchange, TOKEN_EXCHANGE_GRANT, type OrdersApiResource } from './token-exchange-grant';
import { DEFAULT_ORDERS_API_SCOPES } from '../../src/orders-api-access/scopes';

export interface LocalOidcOptions {
  /** Listen port on 127.0.0.1; 0 picks a free port. Reuse a port to restart with the same issuer. */
  port?: number;
  /** `aud` of the access tokens. @default https://ai.azure.com */
  audience?: string;
  /** `tid` of the tokens. @default a fixed local tenant id */
  tenantId?: string;
  /** The public SPA client (PKCE). @default chat-spa */
  spaClientId?: string;
  /** Redirect URIs registered for the SPA client. */
  redirectUris: string[];
  /** Where the generated TLS certificate lives. @default .local/ */
  stateDir?: string;
  /** Accepted after sign-out; defaults to the origins of the redirect URIs (with and without a trailing slash). */
  postLogoutRedirectUris?: string[];
  /** Client id of the Orders API registration (its audience is this id and `api://<id>`). @default ORDERS_API_LOCAL_CLIENT_ID */
  ordersApiClientId?: string;
  /** The confidential client that may exchange a user's token for an Orders API token. @default agent-runtime */
  agentClientId?: string;
}

export interface LocalUser {
  username: string;
  password: string;
  oid: string;
  name: string;
  /** Whether the user may be granted the Orders API's write scope (else only the read scope). */
  mayChangeOrders: boolean;
}

export interface LocalOidc {
  issuer: string;
  jwksUri: string;
  caCertPath: string;
  spaClientId: string;
  tenantId: string;
  audience: string;
  /** The scopes a client asks for to get an access token for the audience. */
  scopes: string[];
  users: LocalUser[];
  tokenEndpoint: string;
  /** The Orders API as a resource of the token exchange. */
  ordersApi: OrdersApiResource;
  /** The agent runtime's confidential client (its secret lives only in this process). */
  agentClient: { clientId: string; clientSecret: string };
  close(): Promise<void>;
}

/** The local Orders API registration's client id (fixed, so tokens and settings are stable across runs). */
export const ORDERS_API_LOCAL_CLIENT_ID = '0de5a000-0000-4000-8000-0000000a0e01';

export const LOCAL_TENANT_ID = '7c0c36f5-0000-4000-8000-00000000c0de';

/** Demo users; the password equals the username (printed by `npm run local`). */
export const DEMO_USERS: readonly LocalUser[] = [
  { username: 'alice', password: 'alice', oid: 'a11ce000-0000-4000-8000-000000000001', name: 'Alice Johnson', mayChangeOrders: true },
  { username: 'bob', password: 'bob', oid: 'b0b00000-0000-4000-8000-000000000002', name: 'Bob Smith', mayChangeOrders: true },
  { username: 'admin', password: 'admin', oid: 'ad000000-0000-4000-8000-000000000003', name: 'Orders Admin', mayChangeOrders: true },
  // Only ever granted the read scope: the step-up (insufficient_scope) path of the chain.
  { username: 'carol', password: 'carol', oid: 'ca201000-0000-4000-8000-000000000004', name: 'Carol Reader', mayChangeOrders: false },
];

/** Self-signed certificate for 127.0.0.1 / localhost, made once and reused so that restarts keep it trusted. */
export function ensureCertificate(stateDir: string): { certPath: string; keyPath: string } {
  const dir = join(stateDir, 'oidc');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = new X509Certificate(readFileSync(certPath));
    // Keep a day of margin so a running chain never sees it expire.
    if (Date.parse(cert.validTo) - Date.now() > 24 * 3600_000) return { certPath, keyPath };
  }
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { certPath, keyPath };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const html = (s: string) => s.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

// Offline pages only: no external fonts or scripts (the defaults load Google Fonts).
const STYLE = 'body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}main{max-width:22rem;margin:4rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#0f6cbd;color:#fff;border:0;border-radius:4px;cursor:pointer}button.secondary{background:#777}p.hint{color:#555;font-size:.85rem}[role=alert]{color:#a4262c}';

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${html(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

function loginPage(uid: string, clientId: string, error?: string, username = ''): string {
  return page('Sign in', `<h1>Sign in</h1><p class="hint">Local OpenID provider, signing in to <b>${html(clientId)}</b>.</p>`
    + (error ? `<p role="alert">${html(error)}</p>` : '')
    + `<form method="post" action="/interaction/${html(uid)}/login" autocomplete="off">`
    + `<label for="username">Username</label><input id="username" name="username" value="${html(username)}" required autofocus>`
    + '<label for="password">Password</label><input id="password" name="password" type="password" required>'
    + '<button type="submit">Sign in</button></form>'
    + '<p class="hint">Demo users: alice, bob, admin, carol (the password is the username).</p>');
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

type StructuredJwt = { header?: Record<string, unknown>; payload: Record<string, unknown> };
type Stored = { payload: Record<string, any>; expiresAt?: number };

/** In-memory storage, on purpose: a restarted provider forgets every session and grant. */
function memoryAdapter() {
  const store = new Map<string, Stored>();
  return class MemoryAdapter {
    constructor(private readonly name: string) {}
    private key(id: string) { return `${this.name}:${id}`; }
    private get(key: string) {
      const hit = store.get(key);
      if (hit?.expiresAt && hit.expiresAt < Date.now()) { store.delete(key); return undefined; }
      return hit?.payload;
    }
    async upsert(id: string, payload: Record<string, any>, expiresIn?: number) {
      store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      if (payload.uid) store.set(`${this.name}:uid:${payload.uid}`, { payload: { ref: id } });
      if (payload.grantId) {
        const key = `grant:${payload.grantId}`;
        const refs = (store.get(key)?.payload.refs as string[]) ?? [];
        store.set(key, { payload: { refs: [...refs, this.key(id)] } });
      }
    }
    async find(id: string) { return this.get(this.key(id)); }
    async findByUid(uid: string) {
      const ref = store.get(`${this.name}:uid:${uid}`)?.payload.ref as string | undefined;
      return ref ? this.find(ref) : undefined;
    }
    async findByUserCode() { return undefined; }
    async consume(id: string) {
      const hit = this.get(this.key(id));
      if (hit) hit.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId: string) {
      for (const ref of (store.get(`grant:${grantId}`)?.payload.refs as string[]) ?? []) store.delete(ref);
      store.delete(`grant:${grantId}`);
    }
  };
}

export async function startLocalOidcProvider(options: LocalOidcOptions): Promise<LocalOidc> {
  const audience = (options.audience ?? 'https://ai.azure.com').replace(/\/+$/, '');
  const tenantId = options.tenantId ?? LOCAL_TENANT_ID;
  const spaClientId = options.spaClientId ?? 'chat-spa';
  const stateDir = resolve(options.stateDir ?? '.local');
  const users = DEMO_USERS.map((u) => ({ ...u }));
  const byName = new Map(users.map((u) => [u.username, u]));

  if (!options.redirectUris?.length) throw new Error('startLocalOidcProvider: redirectUris must name at least one URI');
  const postLogout = options.postLogoutRedirectUris ?? [...new Set(options.redirectUris.flatMap((u) => {
    const origin = new URL(u).origin;
    return [origin, `${origin}/`];
  }))];

  const { certPath, keyPath } = ensureCertificate(stateDir);
  // Fresh signing key on every start: a restarted provider has new keys, like a rotation.
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => { res.statusCode = 503; res.end(); };
  const server: Server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => handler(req, res));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', fail); ok(); });
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://127.0.0.1:${port}`;

  // The scopes a client may name for the audience; all map to Entra's delegated `user_impersonation`.
  const resourceScopes = [`${audience}/user_impersonation`, `${audience}/.default`, 'user_impersonation'];

  const ordersApiClientId = options.ordersApiClientId ?? ORDERS_API_LOCAL_CLIENT_ID;
  const ordersApi: OrdersApiResource = {
    clientId: ordersApiClientId,
    audiences: [`api://${ordersApiClientId}`, ordersApiClientId],
    scopes: DEFAULT_ORDERS_API_SCOPES,
  };
  const agentClient = { clientId: options.agentClientId ?? 'agent-runtime', clientSecret: randomBytes(32).toString('base64url') };

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: [{
      client_id: spaClientId,
      client_name: 'Chat App (local)',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: options.redirectUris,
      post_logout_redirect_uris: postLogout,
    }, {
      // The agent runtime: a confidential client whose only grant is the token exchange.
      client_id: agentClient.clientId,
      client_name: 'Agent runtime (local)',
      client_secret: agentClient.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
    }],
    scopes: ['openid', 'profile', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'oid', 'tid'] },
    pkce: { required: () => true },
    // CORS for the token endpoint: only the SPA's own origins.
    clientBasedCORS: (_ctx: unknown, origin: string) => options.redirectUris.some((u) => new URL(u).origin === origin),
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600, RefreshToken: 8 * 3600 },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = byName.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, name: user.name, preferred_username: `${user.username}@local.test`, oid: user.oid, tid: tenantId }),
      };
    },
    // Consent is implied for the SPA client: each authorization grants what it may ask for.
    loadExistingGrant: async (ctx: any) => {
      const { session, client } = ctx.oidc;
      if (!session?.accountId || client?.clientId !== spaClientId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid profile offline_access');
      grant.addResourceScope(audience, resourceScopes.join(' '));
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: any, form: string) => {
          ctx.body = page('Sign out', `${form}<h1>Sign out</h1><p>Sign out of the local OpenID provider?</p>`
            + '<button id="logout" type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>'
            + '<button class="secondary" type="submit" form="op.logoutForm">Stay signed in</button>');
        },
        postLogoutSuccessSource: async (ctx: any) => { ctx.body = page('Signed out', '<h1>Signed out</h1><p>You are signed out.</p>'); },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource.replace(/\/+$/, '') !== audience) throw new Error(`unknown resource ${resource}`);
          return { scope: resourceScopes.join(' '), audience, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    formats: {
      customizers: {
        // Entra's shape: delegated scope in `scp`, the client in `azp`, user ids in `oid` / `tid`.
        jwt: async (_ctx: unknown, token: { accountId?: string; clientId: string }, jwt: StructuredJwt) => {
          const user = token.accountId ? byName.get(token.accountId) : undefined;
          const granted = String(jwt.payload.scope ?? '').split(' ').filter(Boolean);
          const { scope: _scope, client_id: _clientId, ...rest } = jwt.payload;
          jwt.header = { typ: 'JWT' };
          jwt.payload = {
            ...rest,
            aud: audience,
            nbf: rest.iat,
            azp: token.clientId,
            tid: tenantId,
            ...(granted.some((s) => resourceScopes.includes(s)) ? { scp: 'user_impersonation' } : {}),
            ...(user ? { oid: user.oid, name: user.name, preferred_username: `${user.username}@local.test` } : {}),
          };
        },
      },
    },
    renderError: async (ctx: any, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>Sign-in error</h1><p role="alert">${html(out.error ?? 'error')}: ${html(out.error_description ?? '')}</p>`);
    },
  });

  registerTokenExchange(provider, {
    issuer,
    signingKey: { privateKey, publicKey, kid: signingKey.kid },
    subjectAudience: audience,
    subjectClientId: spaClientId,
    tenantId,
    ordersApi,
    users: byName,
  });

  const callback = provider.callback();
  const interaction = /^\/interaction\/([\w-]+)(\/login)?$/;
  handler = (req, res) => {
    const match = interaction.exec(new URL(req.url ?? '/', issuer).pathname);
    if (!match) return callback(req, res);
    void handleInteraction(req, res, Boolean(match[2])).catch((err: Error) => {
      if (!res.headersSent) send(res, 400, page('Error', `<h1>Sign-in error</h1><p role="alert">${html(err.message)}</p>`));
    });
  };

  async function handleInteraction(req: IncomingMessage, res: ServerResponse, isLogin: boolean) {
    const details = await provider.interactionDetails(req, res);
    const clientId = String(details.params.client_id ?? '');
    if (details.prompt.name === 'consent') {
      // Reached only for another client: grant the requested OIDC scopes so the flow completes.
      const grant = new provider.Grant({ clientId, accountId: details.session?.accountId ?? '' });
      grant.addOIDCScope(String(details.params.scope ?? 'openid'));
      return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    }
    if (!isLogin || req.method !== 'POST') return send(res, 200, loginPage(details.uid, clientId));
    const form = await readForm(req);
    const username = (form.get('username') ?? '').trim().toLowerCase();
    const user = byName.get(username);
    if (!user || form.get('password') !== user.password) {
      return send(res, 200, loginPage(details.uid, clientId, 'Unknown user or wrong password.', username));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    caCertPath: certPath,
    spaClientId,
    tenantId,
    audience,
    scopes: ['openid', 'profile', `${audience}/user_impersonation`],
    users,
    tokenEndpoint: `${issuer}/token`,
    ordersApi,
    agentClient,
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}

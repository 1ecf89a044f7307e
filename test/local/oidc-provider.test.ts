import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsCall, signIn } from './oidc-flow';
import { tokenExchanger } from '../../lib-services/local/agent/token-exchange';
import { startLocalOidcProvider, type LocalOidc } from '../../lib-services/local/oidc-provider';

const REDIRECT = 'http://127.0.0.1:5999/redirect.html';
const stateDir = join(tmpdir(), 'local-oidc-test');
let oidc: LocalOidc;

const flow = (username: string, password = username, redirectUri = REDIRECT) => signIn({
  issuer: oidc.issuer,
  caCertPath: oidc.caCertPath,
  clientId: oidc.spaClientId,
  redirectUri,
  scope: `${oidc.scopes.join(' ')} offline_access`,
  username,
  password,
});

async function jwks(provider: LocalOidc) {
  const res = await httpsCall(provider.jwksUri, readFileSync(provider.caCertPath));
  return createLocalJWKSet(JSON.parse(res.body));
}

beforeAll(async () => { oidc = await startLocalOidcProvider({ redirectUris: [REDIRECT], stateDir }); });
afterAll(async () => { await oidc?.close(); });

describe('local OpenID provider', () => {
  it('serves discovery over https on loopback', async () => {
    expect(oidc.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsCall(`${oidc.issuer}/.well-known/openid-configuration`, readFileSync(oidc.caCertPath));
    const meta = JSON.parse(res.body);
    expect(meta.issuer).toBe(oidc.issuer);
    expect(meta.jwks_uri).toBe(oidc.jwksUri);
    expect(meta.code_challenge_methods_supported).toContain('S256');
  });

  it('issues Entra-shaped RS256 access tokens for the audience, verifiable with its JWKS', async () => {
    const result = await flow('alice');
    expect(decodeProtectedHeader(result.accessToken)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const { payload } = await jwtVerify(result.accessToken, await jwks(oidc), { issuer: oidc.issuer, audience: 'https://ai.azure.com' });
    const alice = oidc.users.find((u) => u.username === 'alice')!;
    expect(payload).toMatchObject({
      iss: oidc.issuer,
      aud: 'https://ai.azure.com',
      sub: 'alice',
      oid: alice.oid,
      tid: oidc.tenantId,
      azp: 'chat-spa',
      scp: 'user_impersonation',
      name: 'Alice Johnson',
      preferred_username: 'alice@local.test',
    });
    for (const claim of ['iat', 'nbf', 'exp', 'jti']) expect(payload[claim]).toBeDefined();
    expect(payload.scope).toBeUndefined();
    expect(result.scope).toContain('https://ai.azure.com/user_impersonation');
    expect(result.refreshToken).toBeTruthy();
    expect(result.idToken).toBeTruthy();
  });

  it('gives each demo user their own oid', async () => {
    const bob = await flow('bob');
    const { payload } = await jwtVerify(bob.accessToken, await jwks(oidc), { issuer: oidc.issuer, audience: oidc.audience });
    expect(payload.oid).toBe(oidc.users.find((u) => u.username === 'bob')!.oid);
    expect(new Set(oidc.users.map((u) => u.oid)).size).toBe(oidc.users.length);
  });

  it('has an offline sign-in form with labelled fields and no external resources', async () => {
    const { loginPage } = await flow('admin');
    expect(loginPage).toContain('<label for="username">Username</label>');
    expect(loginPage).toContain('<label for="password">Password</label>');
    expect(loginPage).toContain('<button type="submit">Sign in</button>');
    expect(loginPage).not.toMatch(/<script|<link|@import|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('refuses a wrong password and issues no code', async () => {
    await expect(flow('alice', 'bob')).rejects.toThrow('Unknown user or wrong password');
    await expect(flow('mallory', 'mallory')).rejects.toThrow('Unknown user or wrong password');
  });

  it('refuses an unregistered redirect URI', async () => {
    await expect(flow('alice', 'alice', 'http://127.0.0.1:6000/evil')).rejects.toThrow(/unexpected 400[\s\S]*redirect_uri/);
  });

  it('restarts on the same port with the same issuer and certificate but new keys', async () => {
    const before = await flow('alice');
    const oldKeys = await jwks(oidc);
    const port = Number(new URL(oidc.issuer).port);
    const cert = readFileSync(oidc.caCertPath, 'utf8');
    await oidc.close();
    oidc = await startLocalOidcProvider({ port, redirectUris: [REDIRECT], stateDir });
    expect(new URL(oidc.issuer).port).toBe(String(port));
    expect(readFileSync(oidc.caCertPath, 'utf8')).toBe(cert);
    await expect(jwtVerify(before.accessToken, await jwks(oidc), { issuer: oidc.issuer })).rejects.toThrow();
    const after = await flow('alice');
    await expect(jwtVerify(after.accessToken, oldKeys, { issuer: oidc.issuer })).rejects.toThrow();
    await jwtVerify(after.accessToken, await jwks(oidc), { issuer: oidc.issuer, audience: oidc.audience });
  });
});

describe('token exchange (RFC 8693) for the Orders API', () => {
  const exchanger = (overrides: Partial<Parameters<typeof tokenExchanger>[0]> = {}) => tokenExchanger({
    tokenEndpoint: oidc.tokenEndpoint,
    clientId: oidc.agentClient.clientId,
    clientSecret: oidc.agentClient.clientSecret,
    audience: oidc.ordersApi.audiences[0],
    scopes: [`${oidc.ordersApi.audiences[0]}/Orders.Read`, `${oidc.ordersApi.audiences[0]}/Orders.ReadWrite`],
    ca: readFileSync(oidc.caCertPath),
    ...overrides,
  });

  it('gives the agent runtime, for the same user, a token for the Orders API with a new jti', async () => {
    const browser = await flow('alice');
    const exchanged = await exchanger()(browser.accessToken);
    const { payload } = await jwtVerify(exchanged.accessToken, await jwks(oidc), { issuer: oidc.issuer, audience: oidc.ordersApi.clientId });
    const before = decodeJwt(browser.accessToken);
    for (const claim of ['sub', 'oid', 'tid', 'name', 'preferred_username']) expect(payload[claim], claim).toBe(before[claim]);
    expect(payload).toMatchObject({ aud: oidc.ordersApi.clientId, azp: oidc.agentClient.clientId, scp: 'Orders.Read Orders.ReadWrite', ver: '2.0' });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.jti).not.toBe(before.jti);
    expect(payload.exp).toBeLessThanOrEqual(before.exp!);
    expect(exchanged.scope).toBe(`${oidc.ordersApi.audiences[0]}/Orders.Read ${oidc.ordersApi.audiences[0]}/Orders.ReadWrite`);
    expect(decodeProtectedHeader(exchanged.accessToken)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
  });

  it('grants a read-only user only the read scope, and nothing when only the write scope is asked', async () => {
    const carol = await flow('carol');
    const exchanged = await exchanger()(carol.accessToken);
    expect(decodeJwt(exchanged.accessToken).scp).toBe('Orders.Read');
    await expect(exchanger({ scopes: ['Orders.ReadWrite'] })(carol.accessToken)).rejects.toThrow(/^invalid_scope: /);
  });

  it('refuses what it must, naming the problem and never echoing a token', async () => {
    const alice = (await flow('alice')).accessToken;
    const cases: [string, Promise<unknown>, RegExp][] = [
      ['wrong secret', exchanger({ clientSecret: 'nope' })(alice), /^invalid_client: /],
      ['unknown client', exchanger({ clientId: 'chat-spa' })(alice), /^invalid_client: /],
      ['another audience', exchanger({ audience: 'https://graph.microsoft.com' })(alice), /^invalid_target: .*Orders API/],
      ['another resource\'s scope', exchanger({ scopes: ['https://graph.microsoft.com/User.Read'] })(alice), /^invalid_scope: /],
      ['a forged subject token', exchanger()(`${alice.slice(0, -4)}AAAA`), /^invalid_grant: subject_token is not a valid/],
      // An Orders API token is not a token for the agent: no chained exchanges.
      ['an exchanged token as subject', exchanger()(alice).then((t) => exchanger()(t.accessToken)), /^invalid_grant: /],
    ];
    for (const [name, attempt, expected] of cases) {
      const error = await attempt.then(() => undefined, (e: Error) => e);
      expect(error?.message, name).toMatch(expected);
      expect(error?.message).not.toContain(alice.split('.')[1].slice(0, 20));
    }
  });
});

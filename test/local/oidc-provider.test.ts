import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsCall, signIn } from './oidc-flow';
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

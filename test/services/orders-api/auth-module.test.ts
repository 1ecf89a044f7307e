/** The shared auth module on its own: configuration, JWKS faults, metadata helpers. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  authSettingsFromEnv, ConfigError, createTokenVerifier, AuthError, AuthUnavailableError,
  protectedResourceMetadataUrl, scopesSupported, bearerTokenFrom, bearerChallenge,
} from '../../../lib-services/shared/auth/index.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

describe('authSettingsFromEnv', () => {
  const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';

  it('derives v2 then v1 issuers from the tenant, then AUTH_ISSUERS, and defaults', () => {
    const s = authSettingsFromEnv({ AUTH_TENANT_ID: tid, AUTH_ISSUERS: 'https://issuer.example/x' });
    expect(s.issuers).toEqual([
      `https://login.microsoftonline.com/${tid}/v2.0`, `https://sts.windows.net/${tid}/`, 'https://issuer.example/x',
    ]);
    expect(s.discoveryIssuer).toBe(`https://login.microsoftonline.com/${tid}/v2.0`);
    expect(s.audiences).toEqual(['https://ai.azure.com']);
    expect(s.clockToleranceSec).toBe(60);
    expect(s.allowedClientIds).toEqual([]);
    expect(s.requiredScopes).toEqual([]);
  });

  it('discovers from the first AUTH_ISSUERS entry without a tenant, and AUTH_JWKS_URI overrides discovery', () => {
    expect(authSettingsFromEnv({ AUTH_ISSUERS: 'http://127.0.0.1:9/a, https://b.example' }).discoveryIssuer).toBe('http://127.0.0.1:9/a');
    const s = authSettingsFromEnv({ AUTH_ISSUERS: 'https://a.example', AUTH_JWKS_URI: 'https://a.example/keys' });
    expect(s.jwksUri).toBe('https://a.example/keys');
    expect(s.discoveryIssuer).toBeUndefined();
  });

  it.each([
    [{}, 'AUTH_TENANT_ID'],
    [{ AUTH_TENANT_ID: '  ' }, 'AUTH_TENANT_ID'],
    [{ AUTH_TENANT_ID: 'contoso' }, 'AUTH_TENANT_ID'],
    [{ AUTH_ISSUERS: 'not a url' }, 'AUTH_ISSUERS'],
    [{ AUTH_ISSUERS: 'http://issuer.example' }, 'AUTH_ISSUERS'],
    [{ AUTH_ISSUERS: 'https://a.example', AUTH_JWKS_URI: 'http://keys.example' }, 'AUTH_JWKS_URI'],
    [{ AUTH_ISSUERS: 'https://a.example', AUTH_CLOCK_TOLERANCE_SEC: '-1' }, 'AUTH_CLOCK_TOLERANCE_SEC'],
    [{ AUTH_ISSUERS: 'https://a.example', AUTH_REQUIRED_SCOPES: 'a b' }, 'AUTH_REQUIRED_SCOPES'],
  ])('refuses %j naming %s in one line', (env, variable) => {
    let err: unknown;
    try {
      authSettingsFromEnv(env as Record<string, string>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as ConfigError).message).toMatch(new RegExp(`^${variable}: [^\\n]+$`));
  });
});

describe('helpers', () => {
  it('puts the well-known segment between host and path (RFC 9728 §3.1)', () => {
    expect(protectedResourceMetadataUrl('https://api.example')).toBe('https://api.example/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://api.example/')).toBe('https://api.example/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://apim.example/orders/mcp')).toBe('https://apim.example/.well-known/oauth-protected-resource/orders/mcp');
  });

  it('qualifies required scopes by the first audience, else <audience>/.default', () => {
    expect(scopesSupported({ audiences: ['api://orders', 'x'], requiredScopes: ['Orders.ReadWrite'] })).toEqual(['api://orders/Orders.ReadWrite']);
    expect(scopesSupported({ audiences: ['https://ai.azure.com'], requiredScopes: [] })).toEqual(['https://ai.azure.com/.default']);
  });

  it('reads the token only from a Bearer header, scheme case-insensitive', () => {
    expect(bearerTokenFrom('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerTokenFrom('bEaReR   a.b.c ')).toBe('a.b.c');
    expect(() => bearerTokenFrom(undefined)).toThrow(expect.objectContaining({ missing: true }));
    expect(() => bearerTokenFrom('Basic abc')).toThrow(expect.objectContaining({ missing: true }));
    expect(() => bearerTokenFrom('Bearer')).toThrow(expect.objectContaining({ missing: false, code: 'invalid_token' }));
    expect(bearerChallenge({ resourceMetadataUrl: 'https://x/.well-known/oauth-protected-resource', error: 'invalid_token' }))
      .toBe('Bearer error="invalid_token", resource_metadata="https://x/.well-known/oauth-protected-resource"');
  });
});

describe('token verifier against a real JWKS endpoint', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await TestIssuer.start();
  });
  afterAll(() => issuer.stop());
  afterEach(() => {
    issuer.down = false;
  });

  function verifierFor(env: Record<string, string>, clock?: { t: number }) {
    return createTokenVerifier(authSettingsFromEnv(env), clock ? { now: () => clock.t } : {});
  }

  it('accepts a good token and returns the principal without touching the issuer twice', async () => {
    const v = verifierFor(issuer.env({ discovery: true }));
    const before = issuer.discoveryRequests;
    const token = await issuer.mint({ user: USERS.bob });
    const p = await v.verify(token);
    expect(p).toMatchObject({
      oid: USERS.bob.oid, name: USERS.bob.name, username: USERS.bob.preferred_username, clientId: issuer.clientId, scopes: [issuer.scope],
    });
    await v.verify(await issuer.mint());
    expect(issuer.discoveryRequests - before).toBe(1);
    expect(v.jwksFetches).toBe(1);
  });

  it('keeps validating with cached keys while the issuer is down, and answers 503-type errors before any key was fetched', async () => {
    const v = verifierFor(issuer.env());
    await v.verify(await issuer.mint());
    issuer.down = true;
    await expect(v.verify(await issuer.mint({ user: USERS.bob }))).resolves.toMatchObject({ oid: USERS.bob.oid });
    const cold = verifierFor(issuer.env());
    await expect(cold.verify(await issuer.mint())).rejects.toBeInstanceOf(AuthUnavailableError);
  });

  it('keeps stale keys when the background refresh fails', async () => {
    const clock = { t: Date.now() };
    const v = verifierFor(issuer.env(), clock);
    await v.verify(await issuer.mint());
    issuer.down = true;
    clock.t += 11 * 60_000;
    await expect(v.verify(await issuer.mint({ user: USERS.bob }))).resolves.toMatchObject({ oid: USERS.bob.oid });
  });

  it('accepts a rotated key after one refetch, and bounds refetches for a flood of unknown kids', async () => {
    const clock = { t: Date.now() };
    const v = verifierFor(issuer.env(), clock);
    await v.verify(await issuer.mint());
    expect(v.jwksFetches).toBe(1);
    const newKey = await issuer.rotate({ keepOld: true });
    const rotated = await issuer.mint({ key: newKey, header: { kid: newKey.kid } });
    // Within 30 s of the last fetch an unknown kid does not refetch; after it, one refetch finds the key.
    await expect(v.verify(rotated)).rejects.toBeInstanceOf(AuthError);
    expect(v.jwksFetches).toBe(1);
    clock.t += 31_000;
    await expect(v.verify(rotated)).resolves.toBeTruthy();
    expect(v.jwksFetches).toBe(2);
    // A flood of unknown kids within the cooldown: no more fetches.
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => issuer.mint({ header: { kid: `nope-${i}` } })));
    const results = await Promise.allSettled(flood.map((t) => v.verify(t)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof AuthError && r.reason.code === 'invalid_token')).toBe(true);
    expect(v.jwksFetches).toBe(2);
    // After the cooldown, one more fetch for the next unknown kid, and a newly rotated key is accepted.
    const newer = await issuer.rotate();
    clock.t += 31_000;
    await expect(v.verify(await issuer.mint({ key: newer, header: { kid: newer.kid } }))).resolves.toBeTruthy();
    expect(v.jwksFetches).toBe(3);
    // The old key is gone from the JWKS: its tokens fail now.
    await expect(v.verify(await issuer.mint({ key: newKey, header: { kid: newKey.kid }, user: USERS.bob }))).rejects.toBeInstanceOf(AuthError);
  });

  it('caches verified tokens by hash and drops them when the token expires', async () => {
    const clock = { t: Date.now() };
    const v = verifierFor({ ...issuer.env(), AUTH_CLOCK_TOLERANCE_SEC: '0' }, clock);
    const token = await issuer.mint({ lifetimeSec: 120 });
    const first = await v.verify(token);
    expect(await v.verify(token)).toBe(first);
    clock.t += 121_000;
    await expect(v.verify(token)).rejects.toMatchObject({ code: 'invalid_token', message: 'the token has expired' });
  });

  it('verifies RS256 with node:crypto (no WebCrypto verify), and leaves an unusual header to jose', async () => {
    const v = verifierFor(issuer.env());
    await v.verify(await issuer.mint());
    const subtleVerify = vi.spyOn(globalThis.crypto.subtle, 'verify');
    try {
      // Fresh tokens, each signed anew: the synchronous path with the KeyObject imported once.
      for (const user of [USERS.alice, USERS.bob]) await expect(v.verify(await issuer.mint({ user }))).resolves.toMatchObject({ oid: user.oid });
      expect(subtleVerify).not.toHaveBeenCalled();
      // Its claim checks are jose's: the same messages as the jwtVerify path gives.
      const now = Math.floor(Date.now() / 1000);
      await expect(v.verify(await issuer.mint({ claims: { exp: now - 600 } }))).rejects.toMatchObject({ message: 'the token has expired' });
      await expect(v.verify(await issuer.mint({ claims: { aud: 'api://wrong' } }))).rejects.toMatchObject({ message: 'the token audience is not accepted' });
      await expect(v.verify(await issuer.mint({ claims: { iss: 'https://elsewhere.example/' } }))).rejects.toMatchObject({ message: 'the token issuer is not accepted' });
      await expect(v.verify(await issuer.mint({ claims: { nbf: now + 3600 } }))).rejects.toMatchObject({ message: 'the token is not valid yet' });
      const [h, p, s] = (await issuer.mint()).split('.');
      const other = JSON.parse(Buffer.from(p, 'base64url').toString());
      await expect(v.verify(`${h}.${Buffer.from(JSON.stringify({ ...other, oid: USERS.bob.oid })).toString('base64url')}.${s}`))
        .rejects.toMatchObject({ message: 'the token signature is invalid' });
      expect(subtleVerify).not.toHaveBeenCalled();
      // A header parameter the fast path does not handle: jose verifies the whole token, with WebCrypto.
      await expect(v.verify(await issuer.mint({ header: { b64: true } }))).resolves.toMatchObject({ oid: USERS.alice.oid });
      expect(subtleVerify).toHaveBeenCalledTimes(1);
    } finally {
      subtleVerify.mockRestore();
    }
  });

  it('never puts token text in an error message', async () => {
    const v = verifierFor(issuer.env());
    const token = await issuer.mint({ claims: { aud: 'api://wrong' } });
    const err = await v.verify(token).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AuthError);
    for (const part of token.split('.')) expect(String((err as Error).message)).not.toContain(part.slice(0, 16));
  });
});

describe('cold start under concurrency', () => {
  it('concurrent first requests share one JWKS fetch and all succeed', async () => {
    const issuer = await TestIssuer.start();
    try {
      const v = createTokenVerifier(authSettingsFromEnv(issuer.env()));
      const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.mint()));
      const results = await Promise.allSettled(tokens.map((t) => v.verify(t)));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(v.jwksFetches).toBe(1);
    } finally {
      await issuer.stop();
    }
  });
});

/**
 * The bad-token matrix: every way a bearer token must be refused, as Authorization header
 * values with the expected status and challenge error. Usable against any service configured
 * with `issuer.env()` (tenant, allowed client id and required scope all set).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { generateSigningKey, USERS, type TestIssuer } from './issuer.js';

export interface BadTokenCase {
  name: string;
  /** Authorization header value; undefined = no header. */
  authorization?: string;
  /** Query string to append to the URL (tokens there must never be read). */
  query?: string;
  status: 401 | 403;
  /** Expected `error` in the WWW-Authenticate challenge; undefined = no error attribute. */
  error?: 'invalid_token' | 'insufficient_scope';
}

export interface BadTokenOptions {
  /** The service checks the tenant (AUTH_TENANT_ID). Default true. */
  tenantChecked?: boolean;
  /** The service restricts client ids (AUTH_ALLOWED_CLIENT_IDS). Default true. */
  clientIdChecked?: boolean;
  /** The service requires the issuer's scope (AUTH_REQUIRED_SCOPES). Default true. */
  scopeRequired?: boolean;
}

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function flipChar(s: string, index: number): string {
  const c = s[index];
  return s.slice(0, index) + (c === 'A' ? 'B' : 'A') + s.slice(index + 1);
}

export async function badTokenCases(issuer: TestIssuer, options: BadTokenOptions = {}): Promise<BadTokenCase[]> {
  const now = Math.floor(Date.now() / 1000);
  const good = await issuer.mint();
  const [h, p, s] = good.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  const invalid = (name: string, authorization: string): BadTokenCase => ({ name, authorization, status: 401, error: 'invalid_token' });
  const bearer = (t: string) => `Bearer ${t}`;

  const otherKey = await generateSigningKey();
  const hsToken = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: issuer.currentKey.kid })
    .sign(new TextEncoder().encode(await issuer.publicKeyPem()));
  const noneToken = `${b64url({ alg: 'none', typ: 'JWT', kid: issuer.currentKey.kid })}.${b64url(payload)}.`;
  const tamperedPayload = `${h}.${b64url({ ...payload, oid: USERS.bob.oid })}.${s}`;

  const cases: BadTokenCase[] = [
    { name: 'no Authorization header', status: 401 },
    { name: 'wrong scheme (Basic)', authorization: 'Basic YWxpY2U6c2VjcmV0', status: 401 },
    { name: 'token only in the query string', query: `access_token=${good}`, status: 401 },
    invalid('Bearer with no token', 'Bearer '),
    invalid('malformed (not a JWT)', 'Bearer not-a-jwt'),
    invalid('garbage in three parts', 'Bearer aaaa.bbbb.cccc'),
    invalid('two tokens in the header', `Bearer ${good} ${good}`),
    invalid('alg none', bearer(noneToken)),
    invalid('HS256 signed with the public key as secret', bearer(hsToken)),
    invalid('unknown kid', bearer(await issuer.mint({ key: otherKey, header: { kid: `unknown-${randomUUID()}` } }))),
    invalid('another key under a known kid', bearer(await issuer.mint({ key: otherKey }))),
    invalid('wrong issuer', bearer(await issuer.mint({ claims: { iss: `https://login.microsoftonline.com/${randomUUID()}/v2.0` } }))),
    invalid('wrong audience', bearer(await issuer.mint({ claims: { aud: 'api://some-other-api' } }))),
    invalid('expired (beyond clock tolerance)', bearer(await issuer.mint({ claims: { iat: now - 7200, nbf: now - 7200, exp: now - 600 } }))),
    invalid('nbf in the future', bearer(await issuer.mint({ claims: { nbf: now + 3600, exp: now + 7200 } }))),
    invalid('no exp', bearer(await issuer.mint({ claims: { exp: undefined } }))),
    invalid('tampered payload', bearer(tamperedPayload)),
    invalid('tampered signature', bearer(`${h}.${p}.${flipChar(s, 10)}`)),
    invalid('app-only token (no scp)', bearer(await issuer.mint({ claims: { scp: undefined, roles: ['Orders.ReadWrite.All'] } }))),
    invalid('no oid', bearer(await issuer.mint({ claims: { oid: undefined } }))),
    invalid('no client id (no azp/appid)', bearer(await issuer.mint({ claims: { azp: undefined } }))),
    invalid('ES256 header on an RSA key', bearer(await issuer.mint({ header: { alg: 'RS256' }, claims: {} }).then((t) => {
      const [, pp, ss] = t.split('.');
      return `${b64url({ alg: 'ES256', typ: 'JWT', kid: issuer.currentKey.kid })}.${pp}.${ss}`;
    }))),
    invalid('oversized token', bearer(await issuer.mint({ claims: { pad: 'x'.repeat(9_500) } }))),
  ];
  if (options.tenantChecked ?? true) {
    cases.push(invalid('wrong tenant (tid)', bearer(await issuer.mint({ claims: { tid: randomUUID() } }))));
  }
  if (options.clientIdChecked ?? true) {
    cases.push(invalid('client id not allowed', bearer(await issuer.mint({ claims: { azp: randomUUID() } }))));
    cases.push(invalid('v1 token whose appid is not allowed', bearer(await issuer.mint({ claims: { azp: undefined, appid: randomUUID(), ver: '1.0' } }))));
  }
  if (options.scopeRequired ?? true) {
    cases.push({ name: 'required scope missing', authorization: bearer(await issuer.mint({ claims: { scp: 'Other.Read' } })), status: 403, error: 'insufficient_scope' });
  }
  return cases;
}

/** Tokens that must be accepted: the matrix is only meaningful if these pass. */
export async function goodTokenCases(issuer: TestIssuer): Promise<{ name: string; authorization: string }[]> {
  const now = Math.floor(Date.now() / 1000);
  return [
    { name: 'v2 token', authorization: await issuer.bearer() },
    { name: 'lower-case scheme', authorization: `bearer ${await issuer.mint()}` },
    { name: 'v1 token with appid', authorization: await issuer.bearer({ claims: { azp: undefined, appid: issuer.clientId, ver: '1.0' } }) },
    { name: 'expired 30 s ago (within tolerance)', authorization: await issuer.bearer({ claims: { exp: now - 30 } }) },
    { name: 'several scopes, one required', authorization: await issuer.bearer({ claims: { scp: `openid ${issuer.scope} profile` } }) },
  ];
}

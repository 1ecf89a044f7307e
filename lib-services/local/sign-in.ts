// Drives the local provider's authorization-code + PKCE flow without a browser (https with the provider's CA):
// the tests, `npm run local:token` and `verify --local` sign demo users in with it.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface HttpAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export interface CallInit { method?: string; headers?: Record<string, string>; body?: string }

export function httpsCall(url: string, ca: Buffer, init: CallInit = {}): Promise<HttpAnswer> {
  return new Promise((ok, fail) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(init.body);
  });
}

/** Minimal cookie jar: name=value pairs, enough for one provider origin. */
class Jar {
  private cookies = new Map<string, string>();
  take(headers: HttpAnswer['headers']) {
    const set = headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

export interface FlowResult { accessToken: string; idToken?: string; refreshToken?: string; scope?: string; loginPage: string }

/** Signs `username` in and redeems the code; throws with the provider's answer when a step fails. */
export interface SignInOptions {
  issuer: string; caCertPath: string; clientId: string; redirectUri: string; scope: string; username: string; password: string;
}

export async function signIn(opts: SignInOptions): Promise<FlowResult> {
  const ca = readFileSync(opts.caCertPath);
  const jar = new Jar();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const auth = new URL(`${opts.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: opts.clientId,
    response_type: 'code',
    redirect_uri: opts.redirectUri,
    scope: opts.scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st',
    nonce: 'n',
  }).toString();
  let url = auth.toString();
  let loginPage = '';
  for (let hop = 0; hop < 10; hop++) {
    const isLoginPost = loginPage && url.endsWith('/login');
    const res = await httpsCall(url, ca, isLoginPost
      ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': jar.header() }, body: new URLSearchParams({ username: opts.username, password: opts.password }).toString() }
      : { headers: { cookie: jar.header() } });
    jar.take(res.headers);
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(String(res.headers.location), url);
      if (next.toString().startsWith(opts.redirectUri)) {
        const code = next.searchParams.get('code');
        if (!code) throw new Error(`no code in redirect: ${next.search}`);
        const token = await httpsCall(`${opts.issuer}/token`, ca, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: opts.redirectUri, client_id: opts.clientId, code_verifier: verifier }).toString(),
        });
        if (token.status !== 200) throw new Error(`token endpoint ${token.status}: ${token.body}`);
        const json = JSON.parse(token.body);
        return { accessToken: json.access_token, idToken: json.id_token, refreshToken: json.refresh_token, scope: json.scope, loginPage };
      }
      url = next.toString();
      continue;
    }
    if (res.status === 200 && res.body.includes('id="username"')) {
      if (isLoginPost) throw new Error(`login refused: ${res.body.match(/role="alert">([^<]*)/)?.[1] ?? 'unknown'}`);
      loginPage = res.body;
      url = new URL(res.body.match(/action="([^"]+)"/)![1], url).toString();
      continue;
    }
    throw new Error(`unexpected ${res.status} at ${url}: ${res.body.slice(0, 300)}`);
  }
  throw new Error('too many redirects');
}

// The agent runtime's side of the token exchange (RFC 8693): as a confidential client of the
// local OpenID provider, it trades the caller's token (for the agent) for one for the Orders API,
// for the same user. Foundry's UserEntraToken connection does the same against Entra.
import { createHash } from 'node:crypto';
import { request } from 'node:https';

export interface TokenExchangeOptions {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** The Orders API's audience (`api://<client id>`). */
  audience: string;
  /** Scopes to ask for (qualified); the provider grants only those the user may have. */
  scopes: string[];
  /** CA certificate (PEM) of the provider's self-signed https certificate. */
  ca?: string | Buffer;
  timeoutMs?: number;
}

export interface ExchangedToken {
  accessToken: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  scope: string;
}

/** A refusal of the provider: its OAuth error code and description (never token text). */
export class TokenExchangeError extends Error {
  constructor(readonly code: string, description: string) {
    super(`${code}: ${description}`);
    this.name = 'TokenExchangeError';
  }
}

export type TokenExchanger = (subjectToken: string) => Promise<ExchangedToken>;

function post(url: string, form: URLSearchParams, headers: Record<string, string>, ca: TokenExchangeOptions['ca'], timeoutMs: number) {
  return new Promise<{ status: number; body: string }>((ok, fail) => {
    const req = request(url, {
      method: 'POST',
      ca,
      timeout: timeoutMs,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept': 'application/json', ...headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('the token endpoint did not answer in time')));
    req.on('error', fail);
    req.end(form.toString());
  });
}

/** Exchanges once per caller token and keeps the result until a minute before it expires. */
export function tokenExchanger(options: TokenExchangeOptions): TokenExchanger {
  const basic = Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64');
  const cache = new Map<string, ExchangedToken>();
  return async (subjectToken) => {
    const key = createHash('sha256').update(subjectToken).digest('base64url');
    const now = Date.now() / 1000;
    const hit = cache.get(key);
    if (hit && hit.expiresAt - 60 > now) return hit;
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: options.audience,
      scope: options.scopes.join(' '),
    });
    const res = await post(options.tokenEndpoint, form, { authorization: `Basic ${basic}` }, options.ca, options.timeoutMs ?? 10_000);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(res.body) as Record<string, unknown>;
    } catch { /* reported below */ }
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      throw new TokenExchangeError(String(body.error ?? `http_${res.status}`), String(body.error_description ?? 'the token exchange failed'));
    }
    const token: ExchangedToken = {
      accessToken: body.access_token,
      expiresAt: Math.floor(now) + Number(body.expires_in ?? 0),
      scope: String(body.scope ?? ''),
    };
    cache.set(key, token);
    while (cache.size > 1000) cache.delete(cache.keys().next().value!);
    return token;
  };
}

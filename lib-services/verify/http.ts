// One HTTP exchange of a check: status, headers and body, or a classified transport failure.
// Requests carry a token only in the Authorization header, and nothing here echoes headers.
export { protectedResourceMetadataUrl as metadataUrlOf } from '../shared/auth/http.js';

export interface Answer {
  url: string;
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
}

export type TransportFailure = 'tls' | 'refused' | 'dns' | 'timeout' | 'network';

export class TransportError extends Error {
  constructor(readonly url: string, readonly kind: TransportFailure, readonly code: string, message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ERR_SSL/i;

function systemCode(err: unknown): string | undefined {
  for (let e = err as { cause?: unknown; code?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

export interface RequestInitWithTimeout extends RequestInit { timeoutMs?: number }

export async function request(url: string, init: RequestInitWithTimeout = {}): Promise<Answer> {
  const { timeoutMs = 15_000, ...rest } = init;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'manual', ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const code = systemCode(err) ?? (err as Error).name;
    const host = new URL(url).host;
    if (code === 'TimeoutError' || code === 'AbortError') throw new TransportError(url, 'timeout', 'timeout', `${host} did not answer within ${timeoutMs} ms`);
    if (code === 'ECONNREFUSED') throw new TransportError(url, 'refused', code, `nothing listens at ${host} (connection refused)`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new TransportError(url, 'dns', code, `the host name ${new URL(url).hostname} does not resolve (${code})`);
    if (TLS_CODES.test(code)) throw new TransportError(url, 'tls', code, `TLS with ${host} failed: ${code}`);
    throw new TransportError(url, 'network', code, `${host}: ${code}`);
  }
  const text = await res.text();
  let json: unknown;
  if (text && /json/i.test(res.headers.get('content-type') ?? '')) {
    try { json = JSON.parse(text); } catch { /* not JSON after all */ }
  }
  return { url, status: res.status, headers: res.headers, text, json };
}

/** The hint for a transport failure, by kind. */
export function transportHint(err: TransportError, what: string): string {
  switch (err.kind) {
    case 'tls': return `${what} does not present a certificate this machine trusts (${err.code}). For the local chain pass --ca-file .local/oidc/cert.pem (--local does); in Azure the managed certificate may still be provisioning.`;
    case 'refused': return `${what} is not running: start it (locally: \`npm run local\`), or check that its Container App has a running, healthy revision.`;
    case 'dns': return `${what}'s host does not exist: the output is stale or the resource was deleted; run \`terraform output -json\` again after apply.`;
    case 'timeout': return `${what} accepted no answer in time: check its ingress (IP restrictions, private networking) and that a replica is running.`;
    default: return `${what} could not be reached (${err.code}).`;
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http on a loopback host (the local chain). */
export function isTlsOrLoopback(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
}

/** The service's own error code and message: Foundry/OpenAI `{error:{code,message}}`, OAuth/AADSTS, APIM `{statusCode,message}`, the services' `{error,message}`. */
export function serviceError(answer: Answer): { code?: string; message?: string } {
  const body = answer.json as Record<string, unknown> | undefined;
  const aadsts = /AADSTS\d+/.exec(answer.text)?.[0];
  const challenge = answer.headers.get('www-authenticate') ?? '';
  const challengeError = /error="([^"]+)"/.exec(challenge)?.[1];
  if (body && typeof body === 'object') {
    const error = body.error;
    if (error && typeof error === 'object') {
      const e = error as Record<string, unknown>;
      return { code: aadsts ?? String(e.code ?? e.type ?? 'error'), message: typeof e.message === 'string' ? e.message : undefined };
    }
    if (typeof error === 'string') {
      const message = typeof body.message === 'string' ? body.message : typeof body.error_description === 'string' ? body.error_description : undefined;
      return { code: aadsts ?? error, message: message?.split(/\r?\n/)[0] };
    }
    if (typeof body.statusCode === 'number' && typeof body.message === 'string') return { code: `apim_${body.statusCode}`, message: body.message };
  }
  if (aadsts) return { code: aadsts };
  if (challengeError) return { code: challengeError };
  return {};
}

/** `key="value"` parameters of a Bearer challenge. */
export function challengeParams(header: string | null): Record<string, string> {
  const params: Record<string, string> = {};
  if (!header || !/^bearer\b/i.test(header.trim())) return params;
  for (const m of header.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/gi)) params[m[1].toLowerCase()] = m[2].replace(/\\(.)/g, '$1');
  return params;
}

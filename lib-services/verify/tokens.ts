// Where the user's token comes from: a file, a command (e.g. the Azure CLI), or a device-code
// sign-in. A token is held in memory for the run only: never written, never printed.
import { exec } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { decodeJwt, type JWTPayload } from 'jose';

/** Obtains an access token for the given scopes (one resource). */
export interface TokenSource {
  /** How the token is obtained, for the report (no secret in it). */
  readonly describe: string;
  get(scopes: string[]): Promise<string>;
}

/** A failure to obtain a token: the identity platform's code (AADSTS…) when there is one. */
export class TokenError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'TokenError';
  }
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Any JWT-shaped string: scrubbed from every line verify prints. */
export const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

function scrub(text: string): string {
  return text.replace(JWT_PATTERN, '[token]');
}

/** The token out of a command's or file's text: a bare JWT, or JSON with accessToken / access_token / token. */
export function tokenFromText(text: string, source: string): string {
  const trimmed = text.trim();
  let candidate = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      const o = JSON.parse(trimmed) as Record<string, unknown>;
      candidate = String(o.accessToken ?? o.access_token ?? o.token ?? '');
    } catch {
      throw new TokenError(`${source} printed JSON that does not parse`);
    }
  } else {
    candidate = trimmed.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).pop() ?? '';
  }
  candidate = candidate.replace(/^bearer\s+/i, '');
  if (!JWT.test(candidate)) throw new TokenError(`${source} gave no access token (expected a JWT, or JSON with accessToken)`);
  return candidate;
}

export function fileTokenSource(path: string): TokenSource {
  return {
    describe: `token file ${path}`,
    async get() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new TokenError(`cannot read the token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      return tokenFromText(text, `the token file ${path}`);
    },
  };
}

/** One word for a POSIX shell. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, '\'\\\'\'')}'`;

/**
 * Runs `command` in a shell; `{scope}` in it is replaced by the scopes (space-separated, quoted),
 * and VERIFY_SCOPES holds them too. Without `{scope}` the same token serves every request.
 */
export function commandTokenSource(command: string, timeoutMs = 120_000, describe = `token command (${command.split(/\s+/)[0]})`): TokenSource {
  return {
    describe,
    get(scopes) {
      const joined = scopes.join(' ');
      const line = command.replace(/\{scope\}/g, shellQuote(joined));
      return new Promise((ok, fail) => {
        exec(line, { timeout: timeoutMs, maxBuffer: 1024 * 1024, env: { ...process.env, VERIFY_SCOPES: joined } }, (err, stdout, stderr) => {
          if (err) {
            const said = scrub(`${stderr}\n${stdout}`).trim().split(/\r?\n/).filter(Boolean).slice(-3).join(' | ').slice(0, 400);
            fail(new TokenError(`the token command failed (${err.killed ? 'timed out' : `exit ${err.code}`})${said ? `: ${said}` : ''}`, /AADSTS\d+/.exec(said)?.[0]));
            return;
          }
          try {
            ok(tokenFromText(stdout, 'the token command'));
          } catch (e) {
            fail(e);
          }
        });
      });
    },
  };
}

export interface DeviceCodeOptions {
  tenantId: string;
  clientId: string;
  authorityHost?: string;
  /** Receives the sign-in instruction (URL and code) for the user. */
  prompt: (message: string) => void;
}

/** Device-code sign-in with @azure/identity (needs a client that allows public-client flows). */
export function deviceCodeTokenSource(o: DeviceCodeOptions): TokenSource {
  let credential: import('@azure/identity').DeviceCodeCredential | undefined;
  return {
    describe: `device code sign-in (client ${o.clientId})`,
    async get(scopes) {
      const { DeviceCodeCredential } = await import('@azure/identity');
      credential ??= new DeviceCodeCredential({
        tenantId: o.tenantId,
        clientId: o.clientId,
        authorityHost: o.authorityHost,
        userPromptCallback: (info) => o.prompt(info.message),
      });
      try {
        const token = await credential.getToken(scopes);
        return token.token;
      } catch (err) {
        const text = scrub(`${(err as Error).message}`);
        throw new TokenError(`device code sign-in failed: ${text.split(/\r?\n/)[0].slice(0, 400)}`, /AADSTS\d+/.exec(text)?.[0]);
      }
    },
  };
}

/** Claims only; the signature is the services' business. */
export function claimsOf(token: string): JWTPayload & Record<string, unknown> {
  return decodeJwt(token) as JWTPayload & Record<string, unknown>;
}

/** Scopes that only shape the sign-in (not a resource's). */
export const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/**
 * Per-user rate limit (RATE_LIMIT_PER_MINUTE, default 120, 0 = off), keyed on the verified `oid`,
 * for REST and MCP alike: a fixed one-minute window per user that starts at the user's first
 * request. One Map lookup per request; the Map is bounded.
 */
import { createMiddleware } from 'hono/factory';
import { ConfigError, type AuthVariables } from '../shared/auth/index.js';

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 120;
const WINDOW_MS = 60_000;

type Env = Record<string, string | undefined>;

export function rateLimitFromEnv(env: Env): number {
  const raw = env.RATE_LIMIT_PER_MINUTE?.trim();
  if (!raw) return DEFAULT_RATE_LIMIT_PER_MINUTE;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 1_000_000) {
    throw new ConfigError('RATE_LIMIT_PER_MINUTE', `"${raw}" must be a whole number of requests per minute from 0 (off) to 1000000`);
  }
  return n;
}

export interface RateLimiterOptions {
  perMinute: number;
  /** Users tracked at once (default 50,000); beyond it the oldest windows are dropped. */
  maxKeys?: number;
  now?: () => number;
}

interface Window { start: number; count: number }

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(private readonly perMinute: number, options: Omit<RateLimiterOptions, 'perMinute'> = {}) {
    this.maxKeys = options.maxKeys ?? 50_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.windows.size;
  }

  /** Counts one request of `key`; answers the seconds to wait when it is over the limit. */
  hit(key: string): { ok: true } | { ok: false; retryAfterSec: number } {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      // Re-inserted at each new window, so the Map's first entry is always the oldest window.
      this.windows.delete(key);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      this.prune(now);
    }
    if (w.count >= this.perMinute) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000)) };
    w.count++;
    return { ok: true };
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) {
      if (this.windows.size <= this.maxKeys && now - w.start < WINDOW_MS) break;
      this.windows.delete(key);
    }
  }
}

/** After the bearer middleware: 429 `{error: "rate_limited"}` with Retry-After (seconds). */
export function rateLimit(options: RateLimiterOptions) {
  const limiter = options.perMinute > 0 ? new RateLimiter(options.perMinute, options) : undefined;
  return createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    if (limiter) {
      const verdict = limiter.hit(c.var.principal.oid);
      if (!verdict.ok) {
        c.header('Retry-After', String(verdict.retryAfterSec));
        return c.json({
          error: 'rate_limited',
          message: `Too many requests: at most ${options.perMinute} per minute per user. Retry in ${verdict.retryAfterSec} s.`,
        }, 429);
      }
    }
    await next();
    return undefined;
  });
}

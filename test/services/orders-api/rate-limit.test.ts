/** Per-user rate limit (RATE_LIMIT_PER_MINUTE): 429 with Retry-After over REST and MCP, one budget per oid. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './harness.js';
import { ordersConfigFromEnv } from '../../../lib-services/orders-api/config.js';
import { RateLimiter } from '../../../lib-services/orders-api/rate-limit.js';
import { TestIssuer, USERS } from '../../support/issuer.js';

let issuer: TestIssuer;
const services: TestService[] = [];

beforeAll(async () => { issuer = await TestIssuer.start(); });
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await issuer?.stop();
});

async function service(perMinute: string) {
  const svc = await startService(issuer, { env: { RATE_LIMIT_PER_MINUTE: perMinute } });
  services.push(svc);
  return svc;
}

describe('rate limit', () => {
  it('REST: the request over the budget gets 429 {error: rate_limited} with Retry-After; users do not share a budget', async () => {
    const svc = await service('5');
    const alice = await issuer.mint({ user: USERS.alice });
    // A fresh token per request: the budget follows the oid, not the token.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await svc.request('/orders', { token: await issuer.mint({ user: USERS.alice }) })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const over = await svc.request('/orders', { token: alice });
    expect(over.status).toBe(429);
    const body = await over.json();
    expect(body).toEqual({ error: 'rate_limited', message: expect.stringContaining('5 per minute') });
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A write over the budget changes nothing.
    const before = JSON.stringify(await svc.store.list());
    const post = await svc.request('/orders', { method: 'POST', token: alice, body: JSON.stringify({ customer_name: 'A', product: 'B', quantity: 1 }) });
    expect(post.status).toBe(429);
    expect(JSON.stringify(await svc.store.list())).toBe(before);
    // bob still has his whole budget.
    expect((await svc.request('/orders', { token: await issuer.mint({ user: USERS.bob }) })).status).toBe(200);
    // Unauthenticated requests are refused before the limiter: 401, and they cost nobody's budget.
    expect((await svc.request('/orders')).status).toBe(401);
  });

  it('MCP: the same 429 and Retry-After through the official client', async () => {
    const svc = await service('4');
    const token = await issuer.mint({ user: USERS.bob });
    let retryAfter: string | null = null;
    const statuses: number[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
        return res;
      },
    });
    const client = new Client({ name: 'rate-test', version: '1.0.0' });
    // initialize, initialized and the client's optional GET for a stream (405) each count.
    await client.connect(transport);
    let error: unknown;
    for (let i = 0; i < 5 && !error; i++) {
      error = await client.callTool({ name: 'list-orders', arguments: {} }).then(() => undefined, (e: unknown) => e);
    }
    await client.close();
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(429);
    expect((error as Error).message).toContain('rate_limited');
    // Exactly the budget got through, then the refusal.
    expect(statuses.indexOf(429)).toBe(4);
    expect(statuses.slice(0, 4).every((s) => s !== 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('0 switches it off; the default is 120; bad values are refused naming the variable', async () => {
    const svc = await service('0');
    const token = await issuer.mint();
    const statuses = await Promise.all(Array.from({ length: 150 }, () => svc.request('/health').then(() => svc.request('/orders', { token }))));
    expect(statuses.every((r) => r.status === 200)).toBe(true);
    const env = { ...issuer.env(), PORT: '0' };
    expect(ordersConfigFromEnv(env).rateLimitPerMinute).toBe(120);
    for (const bad of ['-1', '1.5', 'ten', '99999999']) {
      expect(() => ordersConfigFromEnv({ ...env, RATE_LIMIT_PER_MINUTE: bad })).toThrow(/^RATE_LIMIT_PER_MINUTE: /);
    }
  });
});

describe('RateLimiter', () => {
  it('opens a new window a minute after the first request, and Retry-After counts down to it', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(2, { now: () => now });
    expect(limiter.hit('a')).toEqual({ ok: true });
    now += 10_000;
    expect(limiter.hit('a')).toEqual({ ok: true });
    expect(limiter.hit('a')).toEqual({ ok: false, retryAfterSec: 50 });
    now += 49_500;
    expect(limiter.hit('a')).toEqual({ ok: false, retryAfterSec: 1 });
    now += 500;
    expect(limiter.hit('a')).toEqual({ ok: true });
  });

  it('stays bounded: beyond maxKeys the oldest windows go, expired ones first', () => {
    let now = 0;
    const limiter = new RateLimiter(1, { maxKeys: 100, now: () => now });
    for (let i = 0; i < 1000; i++) {
      limiter.hit(`user-${i}`);
      now += 1;
    }
    expect(limiter.size).toBe(100);
    // The newest user is still counted; the oldest was dropped.
    expect(limiter.hit('user-999').ok).toBe(false);
    expect(limiter.hit('user-0').ok).toBe(true);
    now += 60_000;
    limiter.hit('late');
    expect(limiter.size).toBe(1);
  });
});

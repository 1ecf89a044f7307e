/**
 * Orders API benchmarks, measured side by side in one run on loopback:
 * - GET /orders with token validation vs the same app whose verifier accepts without checking
 *   (same handler, same concurrency), for a repeated token and for a fresh token per request;
 * - the RSA-2048 verify floor on this machine;
 * - MCP tools/call latency (p50, p99);
 * - cold start of the bundle to its first healthy response vs `node -e 0` (target: at most 2x),
 *   median of interleaved runs, with two floors for context: a bare node:http server, and the same
 *   server after `new Headers()` (Node's fetch implementation, undici, which any Request/Response
 *   based server such as Hono loads before it can answer);
 * - the first MCP call after a cold start (the MCP SDK and zod are loaded on that call);
 * - bundle size: the entry, and what start-up evaluates (the entry plus the chunks it imports statically).
 */
import { execFileSync } from 'node:child_process';
import { constants, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve, type ServerType } from '@hono/node-server';
// @ts-expect-error autocannon ships no type declarations
import autocannonUntyped from 'autocannon';
import { coldStartMs, startServer, stopServer } from './cold-start.js';
import { median, percentile, round } from './stats.js';
import { createApp } from '../lib-services/orders-api/app.js';
import { ordersConfigFromEnv } from '../lib-services/orders-api/config.js';
import { seedOrders } from '../lib-services/orders-api/service.js';
import { MemoryOrderStore } from '../lib-services/orders-api/store.js';
import { createTokenVerifier, type Principal, type TokenVerifier } from '../lib-services/shared/auth/index.js';
import { freePort } from '../lib-services/shared/net.js';
import { createLogger } from '../lib-services/shared/observability.js';
import { TestIssuer, USERS } from '../test/support/issuer.js';

interface LoadOptions {
  url: string;
  connections?: number;
  duration?: number;
  amount?: number;
  headers?: Record<string, string>;
  requests?: { setupRequest: (req: { headers: Record<string, string> }) => unknown }[];
}
interface LoadResult { requests: { average: number }; latency: { p99: number }; non2xx: number; errors: number }
const autocannon = autocannonUntyped as (opts: LoadOptions) => Promise<LoadResult>;

const root = join(import.meta.dirname, '..');
const CONNECTIONS = 20;
const DURATION_S = 4;

async function listen(app: { fetch: (r: Request) => Response | Promise<Response> }): Promise<{ url: string; server: ServerType }> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function load(opts: LoadOptions): Promise<{ rps: number; p99: number; non2xx: number }> {
  const r = await autocannon({ connections: CONNECTIONS, ...opts });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx + r.errors };
}

/** One RSA-2048 PKCS#1 v1.5 SHA-256 verify, in microseconds (the floor of any fresh-token check). */
function rsaVerifyFloorMicros(): number {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.from('x'.repeat(800));
  const sig = sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  for (let i = 0; i < 500; i++) verify('sha256', data, publicKey, sig);
  const n = 5000;
  const t = performance.now();
  for (let i = 0; i < n; i++) verify('sha256', data, publicKey, sig);
  return ((performance.now() - t) * 1000) / n;
}

const COLD_RUNS = 11;

/** Bytes of a bundle file and of every chunk it imports statically (what start-up reads and evaluates). */
function staticClosure(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const code = readFileSync(file, 'utf8');
  // esbuild output: `import{..}from"./chunks/x.mjs"` or `import"./x.mjs"`; dynamic `import("...")` is not followed.
  for (const m of code.matchAll(/\bimport\s*(?:[\w${}\s,*]+from\s*)?["'](\.{1,2}\/[^"']+)["']/g)) {
    staticClosure(join(dirname(file), m[1]), seen);
  }
  return [...seen];
}

export async function run(): Promise<Record<string, unknown>> {
  const issuer = await TestIssuer.start();
  // One user fires every request: the per-user rate limit would answer 429 to most of them.
  const env = { ...issuer.env(), ORDERS_ADMIN_OIDS: '', RATE_LIMIT_PER_MINUTE: '0' };
  const config = ordersConfigFromEnv(env);
  const store = new MemoryOrderStore();
  await seedOrders(store, USERS.alice.oid);
  const logger = createLogger('orders-api', () => undefined);
  const verifier = createTokenVerifier(config.auth);
  const fixed: Principal = { oid: USERS.alice.oid, sub: 'x', clientId: issuer.clientId, scopes: [issuer.scope], expiresAt: 0, token: '' };
  const noCheck: TokenVerifier = { verify: async () => fixed };
  const withAuth = await listen(createApp({ config, store, verifier, logger }));
  const withoutAuth = await listen(createApp({ config, store, verifier: noCheck, logger }));
  const results: Record<string, unknown> = {};
  try {
    const repeated = `Bearer ${await issuer.mint()}`;
    // Warm both (JIT, JWKS fetch).
    await load({ url: `${withAuth.url}/orders`, headers: { authorization: repeated }, amount: 2000 });
    await load({ url: `${withoutAuth.url}/orders`, headers: { authorization: repeated }, amount: 2000 });

    const plain = await load({ url: `${withoutAuth.url}/orders`, headers: { authorization: repeated }, duration: DURATION_S });
    const auth = await load({ url: `${withAuth.url}/orders`, headers: { authorization: repeated }, duration: DURATION_S });
    results['GET /orders without auth, req/s'] = round(plain.rps, 0);
    results['GET /orders repeated token, req/s'] = round(auth.rps, 0);
    results['repeated-token ratio (target >= 0.8)'] = round(auth.rps / plain.rps, 3);
    results['p99 without / with auth, ms'] = `${plain.p99} / ${auth.p99}`;

    // Fresh token per request: pre-minted, each used once.
    const FRESH = 3000;
    const fresh = await Promise.all(Array.from({ length: FRESH }, () => issuer.mint()));
    let next = 0;
    const t0 = performance.now();
    const fr = await autocannon({
      url: `${withAuth.url}/orders`,
      connections: CONNECTIONS,
      amount: FRESH,
      requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${fresh[next++ % FRESH]}` } }) }],
    });
    const freshSeconds = (performance.now() - t0) / 1000;
    const freshRps = FRESH / freshSeconds;
    results['GET /orders fresh token, req/s'] = round(freshRps, 0);
    results['fresh-token ratio'] = round(freshRps / plain.rps, 3);
    results['fresh-token cost per request, µs (vs plain)'] = round((1 / freshRps - 1 / plain.rps) * 1e6, 1);
    results['RSA-2048 verify floor, µs'] = round(rsaVerifyFloorMicros(), 1);
    results['non-2xx during load'] = plain.non2xx + auth.non2xx + fr.non2xx + fr.errors;

    // MCP tools/call latency, one call at a time.
    const mcpHeaders = { 'authorization': repeated, 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get-order', arguments: { order_id: 'ORD-001' } } });
    const lat: number[] = [];
    for (let i = 0; i < 600; i++) {
      const t = performance.now();
      const res = await fetch(`${withAuth.url}/mcp`, { method: 'POST', headers: mcpHeaders, body });
      await res.text();
      if (i >= 100) lat.push(performance.now() - t);
    }
    results['MCP tools/call p50, ms'] = round(percentile(lat, 50), 3);
    results['MCP tools/call p99, ms'] = round(percentile(lat, 99), 3);
  } finally {
    withAuth.server.close();
    withoutAuth.server.close();
  }

  // Cold start of the built bundle vs a bare node, interleaved so that all see the same machine state.
  execFileSync(process.execPath, [join(root, 'lib-services', 'build.mjs'), 'orders-api'], { stdio: 'ignore' });
  const bundle = join(root, 'lib-services', 'dist', 'orders-api', 'server.mjs');
  const port = await freePort();
  const health = `http://127.0.0.1:${port}/health`;
  const bundleEnv = { ...env, PORT: String(port) };
  const floorCode = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
  const floors = { http: ['-e', floorCode], httpHeaders: ['-e', `new Headers(); ${floorCode}`] };
  const runs = { node: [] as number[], http: [] as number[], httpHeaders: [] as number[], bundle: [] as number[] };
  // Warm the file cache once (a container's image layers are on local disk too).
  await coldStartMs(['-e', '0'], {});
  await coldStartMs([bundle], bundleEnv, health);
  for (let i = 0; i < COLD_RUNS; i++) {
    runs.node.push(await coldStartMs(['-e', '0'], {}));
    runs.http.push(await coldStartMs(floors.http, {}, health));
    runs.httpHeaders.push(await coldStartMs(floors.httpHeaders, {}, health));
    runs.bundle.push(await coldStartMs([bundle], bundleEnv, health));
  }
  results['node -e 0, median ms'] = round(median(runs.node), 1);
  results['bare node:http to first 200, median ms'] = round(median(runs.http), 1);
  results['node:http + new Headers() to first 200, median ms'] = round(median(runs.httpHeaders), 1);
  results['bundle to first /health, median ms'] = round(median(runs.bundle), 1);
  results['bundle runs, ms'] = runs.bundle.map((v) => Math.round(v)).join(', ');
  results['cold start ratio (target <= 2)'] = round(median(runs.bundle) / median(runs.node), 2);
  results['cold start vs node:http + Headers floor'] = round(median(runs.bundle) / median(runs.httpHeaders), 2);

  // The first MCP call pays for loading the MCP SDK and zod (kept off the start-up path).
  const firstMcp: number[] = [];
  const mcpToken = await issuer.mint();
  for (let i = 0; i < 3; i++) {
    const s = await startServer([bundle], bundleEnv, health);
    try {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: { 'authorization': `Bearer ${mcpToken}`, 'content-type': 'application/json', 'accept': 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list-orders', arguments: {} } }),
      });
      await res.text();
      if (!res.ok) throw new Error(`/mcp answered ${res.status}`);
      firstMcp.push(performance.now() - t);
    } finally {
      await stopServer(s);
    }
  }
  results['first MCP tools/call after start (incl. JWKS fetch), median ms'] = round(median(firstMcp), 1);

  const dist = join(root, 'lib-services', 'dist', 'orders-api');
  const gz = (files: string[]) => files.reduce((a, f) => a + gzipSync(readFileSync(f)).length, 0);
  const bytes = (files: string[]) => files.reduce((a, f) => a + statSync(f).size, 0);
  const startup = staticClosure(bundle);
  const allBytes = readdirSync(dist, { recursive: true })
    .map((f) => statSync(join(dist, String(f))))
    .filter((st) => st.isFile())
    .reduce((a, st) => a + st.size, 0);
  results['server.mjs bytes (gzip)'] = `${bytes([bundle])} (${gz([bundle])})`;
  results['start-up code: server.mjs + static chunks, bytes (gzip)'] = `${bytes(startup)} (${gz(startup)}), ${startup.length} files`;
  results['dist/orders-api total bytes (incl. lazy chunks)'] = allBytes;
  await issuer.stop();
  return results;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  console.table(await run());
  process.exit(0);
}

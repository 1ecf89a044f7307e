/**
 * Where the Orders API's time goes under load: runs the built bundle with `node --cpu-prof`,
 * drives `GET /orders` with a repeated token through autocannon, and prints the functions with
 * the most self time and the inclusive share of the named ones. Not part of `npm run bench`.
 *   npx tsx bench/profile-orders-api.ts [seconds] [comma-separated function names] [callers of: names]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { freePort } from '../lib-services/shared/net.js';
import { TestIssuer, USERS } from '../test/support/issuer.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const seconds = Number(process.argv[2] ?? 8);
const named = (process.argv[3] ?? '').split(',').filter(Boolean);
const callersOf = (process.argv[4] ?? '').split(',').filter(Boolean);
const dir = mkdtempSync(join(tmpdir(), 'orders-api-prof-'));
const issuer = await TestIssuer.start();
try {
  const port = await freePort();
  const bundle = join(import.meta.dirname, '..', 'lib-services', 'dist', 'orders-api', 'server.mjs');
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, bundle], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...issuer.env(), ORDERS_SEED_OWNER_OID: USERS.alice.oid },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = await issuer.mint();
  const r = await (autocannon as (o: object) => Promise<{ requests: { average: number }; non2xx: number }>)({
    url: `http://127.0.0.1:${port}/orders`, connections: 50, duration: seconds, headers: { authorization: `Bearer ${token}` },
  });
  console.log(`req/s ${Math.round(r.requests.average)}, non-2xx ${r.non2xx}`);
  child.kill('SIGINT');
  await exited;

  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
  const byLabel = new Map<string, number>();
  let busy = 0;
  for (const n of prof.nodes) {
    const t = self.get(n.id) ?? 0;
    if (n.callFrame.functionName === '(idle)') continue;
    busy += t;
    byLabel.set(label(n), (byLabel.get(label(n)) ?? 0) + t);
  }
  console.log(`busy ${Math.round(busy / 1000)} ms; self time:`);
  for (const [k, v] of [...byLabel].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
  if (named.length) {
    const parent = new Map<number, number>();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const inclusive = new Map<string, number>();
    for (const [id, t] of self) {
      if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const name = byId.get(cur)!.callFrame.functionName;
        if (!seen.has(name)) {
          seen.add(name);
          inclusive.set(name, (inclusive.get(name) ?? 0) + t);
        }
      }
    }
    console.log('inclusive:');
    for (const k of named) console.log(`${((100 * (inclusive.get(k) ?? 0)) / busy).toFixed(1).padStart(5)} %  ${k}`);
    // The call chains (four frames up) that spend the self time of each function named in callersOf.
    for (const target of callersOf) {
      const chains = new Map<string, number>();
      for (const [id, t] of self) {
        if (byId.get(id)!.callFrame.functionName !== target) continue;
        const frames: string[] = [];
        for (let cur = parent.get(id), i = 0; cur !== undefined && i < 4; cur = parent.get(cur), i++) frames.push(label(byId.get(cur)!));
        const key = frames.join(' < ');
        chains.set(key, (chains.get(key) ?? 0) + t);
      }
      console.log(`callers of ${target}:`);
      for (const [k, v] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
    }
  }
} finally {
  await issuer.stop();
  rmSync(dir, { recursive: true, force: true });
}

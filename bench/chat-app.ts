/**
 * Chat App benchmarks, measured side by side in one run:
 * - the SPA's browser bundles, gzipped (target: at most 150 KB for the SPA);
 * - cold start of the server bundle to its first healthy response vs `node -e 0`
 *   and vs a floor server using the same Node built-ins (target: at most 1.2x), median of interleaved runs.
 * Run alone with `npx tsx bench/chat-app.ts`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { builtinsFloorArgs, coldStart, coldStartMs } from './cold-start.js';
import { median, round } from './stats.js';
import { freePort } from '../lib-services/shared/net.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'lib-services/dist/chat-app');
const RUNS = 11;
const SPA_BUDGET_KB = 150;

function gzipKb(path: string): number {
  return gzipSync(readFileSync(path), { level: 9 }).byteLength / 1024;
}


export async function run(): Promise<Record<string, unknown>> {
  // Always the current sources: a stale bundle would measure old code.
  execFileSync(process.execPath, [join(root, 'lib-services/build.mjs'), 'chat-app'], { cwd: root, stdio: 'ignore' });
  const appKb = gzipKb(join(dist, 'public/app.js'));
  const redirectKb = gzipKb(join(dist, 'public/redirect.js'));
  const staticKb = ['index.html', 'redirect.html', 'style.css'].reduce((sum, f) => sum + gzipKb(join(dist, 'public', f)), 0);

  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    SPA_CLIENT_ID: 'bench-spa',
    AUTH_TENANT_ID: '00000000-0000-4000-8000-000000000000',
    FOUNDRY_PROJECT_ENDPOINT: 'https://bench.services.ai.azure.com/api/projects/bench',
  };
  const health = `http://127.0.0.1:${port}/health`;
  const floorServer = builtinsFloorArgs(port);
  const baseline: number[] = [];
  const floor: number[] = [];
  const bundle: number[] = [];
  const floorCpu: number[] = [];
  const bundleCpu: number[] = [];
  // Warm the file cache once, then interleave so all see the same machine state.
  await coldStartMs(['-e', '0'], {});
  await coldStartMs([join(dist, 'server.mjs')], env, health);
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await coldStartMs(['-e', '0'], {}));
    const f = await coldStart(floorServer, {}, health);
    const b = await coldStart([join(dist, 'server.mjs')], env, health);
    floor.push(f.ms);
    floorCpu.push(f.cpuMs);
    bundle.push(b.ms);
    bundleCpu.push(b.cpuMs);
  }
  const ratio = median(bundle) / median(baseline);
  return {
    'spa app.js gzipped (KB)': round(appKb, 1),
    'spa redirect.js gzipped (KB)': round(redirectKb, 1),
    'spa html+css gzipped (KB)': round(staticKb, 1),
    'spa total gzipped (KB)': round(appKb + redirectKb + staticKb, 1),
    'spa within 150 KB': appKb + redirectKb + staticKb <= SPA_BUDGET_KB,
    'server.mjs (KB)': round(readFileSync(join(dist, 'server.mjs')).byteLength / 1024, 1),
    'server.mjs gzipped (KB)': round(gzipKb(join(dist, 'server.mjs')), 1),
    'node -e 0 median (ms)': round(median(baseline), 1),
    'built-ins floor to 200 median (ms)': round(median(floor), 1),
    'cold start to healthy median (ms)': round(median(bundle), 1),
    'cold start runs (ms)': bundle.map((v) => Math.round(v)).join(', '),
    'cold start vs node -e 0': round(ratio, 2),
    'cold start vs built-ins floor (target <= 1.2)': round(median(bundle) / median(floor), 2),
    // CPU time to the first 200 does not depend on what else the shared machine runs; wall time does.
    '  the same in CPU time (floor, bundle CPU ms)': `${round(median(bundleCpu) / median(floorCpu), 2)} (${round(median(floorCpu), 1)}, ${round(median(bundleCpu), 1)})`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(await run());
}

// Synth of the example stack against a floor stack (providers + one resource group), each in
// its own process, interleaved, median of RUNS; plus the cost of loading the compiled library.
// Wall time, and the processes' own CPU time (user + system), which a busy shared machine
// disturbs far less. Every timed run synthesizes into an empty output folder.
//
// Both apps are measured as a consumer runs them: compiled JavaScript under plain `node`
// (esbuild, packages external). Under tsx every cdktf token's stack trace is resolved through
// source maps, which taxes the example's hundreds of tokens far more than the floor's few;
// that mode is reported too, for information.
//
// What the headline ratio compares: the example as a consumer gets it on every synth after the
// first (the package entry turns on Node's compile cache in the project's node_modules/.cache,
// so the provider modules loaded after it are not compiled again; the warm-up run fills it)
// against the floor as a plain cdktf app runs (it does not load the library, so no cache).
// For fairness the same run also reports the example with that cache off
// (NODE_DISABLE_COMPILE_CACHE=1), and both apps with a compile cache for every module
// (NODE_COMPILE_CACHE, also in the project's node_modules/.cache: cdktf's own modules too).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { median, round } from './stats';

const root = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
// Two levels below the root, so the library finds lib-services/dist as it does from lib/<part>/.
const compiledDir = join(root, '.bench-out', 'synth');

interface Timing { wall: number; cpu: number }

/** Runs node with `args`; wall time, and the child's CPU time as it reports it on exit (see `cpuProbe`). */
function timedRun(args: string[], env: NodeJS.ProcessEnv = {}, probe?: string): Timing {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, probe ? ['--require', probe, ...args] : args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  const cpu = probe ? JSON.parse(readFileSync(env.BENCH_CPU_FILE!, 'utf8')).cpu : NaN;
  return { wall, cpu };
}

/** A preload that writes the process's CPU time (ms) to $BENCH_CPU_FILE on exit. */
function cpuProbe(scratch: string): string {
  const file = join(scratch, 'cpu-probe.cjs');
  writeFileSync(file, "process.on('exit',()=>{const u=process.cpuUsage();require('node:fs').writeFileSync(process.env.BENCH_CPU_FILE,JSON.stringify({cpu:(u.user+u.system)/1000}))});\n");
  return file;
}

function compile(entry: string): string {
  const outfile = join(compiledDir, entry.replace(/\.ts$/, '.cjs'));
  buildSync({ entryPoints: [join(root, 'bench', entry)], outfile, bundle: true, platform: 'node', format: 'cjs', packages: 'external', logLevel: 'warning' });
  return outfile;
}

/** Loads lib/index.js in a fresh process and reports its own load time and peak RSS. */
function libraryLoad(): { ms: number; maxRssMiB: number } {
  const probe = "const t=process.hrtime.bigint();require('./lib/index.js');const ms=Number(process.hrtime.bigint()-t)/1e6;" +
    'console.log(JSON.stringify({ms,maxRssMiB:process.resourceUsage().maxRSS/1024}))';
  const result = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`loading lib/index.js failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

interface Variant { args: string[]; env?: NodeJS.ProcessEnv }

/** Runs every variant once to warm up, then RUNS rounds of all of them in turn; median wall and CPU of each. */
function series(variants: Record<string, Variant>, scratch: string, tag: string): Record<string, Timing> {
  const probe = cpuProbe(scratch);
  const env = (v: Variant, outdir: string) => ({ ...v.env, BENCH_OUTDIR: join(scratch, outdir), BENCH_CPU_FILE: join(scratch, 'cpu.json') });
  const names = Object.keys(variants);
  const runs: Record<string, Timing[]> = Object.fromEntries(names.map((n) => [n, []]));
  names.forEach((n, i) => timedRun(variants[n].args, env(variants[n], `${tag}-warm${i}`), probe));
  for (let r = 0; r < RUNS; r++) {
    names.forEach((n, i) => runs[n].push(timedRun(variants[n].args, env(variants[n], `${tag}-${i}-${r}`), probe)));
  }
  return Object.fromEntries(names.map((n) => [n, { wall: median(runs[n].map((t) => t.wall)), cpu: median(runs[n].map((t) => t.cpu)) }]));
}

export async function run(): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ipa-bench-synth-'));
  // A compile cache for every module, for the "both cached" comparison: project-private, like the library's.
  const everyModuleCache = { NODE_COMPILE_CACHE: join(root, 'node_modules', '.cache', 'cdktf-identity-propagating-agent', 'bench-every-module') };
  try {
    const floorApp = [compile('floor-app.ts')];
    const exampleApp = [compile('example-app.ts')];
    const c = series({
      floor: { args: floorApp },
      example: { args: exampleApp },
      exampleNoCache: { args: exampleApp, env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
      floorAllCached: { args: floorApp, env: everyModuleCache },
      exampleAllCached: { args: exampleApp, env: everyModuleCache },
    }, scratch, 'node');
    const tsx = series({
      floor: { args: ['--import', 'tsx', 'bench/floor-app.ts'] },
      example: { args: ['--import', 'tsx', 'bench/example-app.ts'] },
    }, scratch, 'tsx');
    if (!existsSync(join(root, 'lib', 'index.js'))) {
      spawnSync('npx', ['jsii', '--silence-warnings=reserved-word'], { cwd: root, stdio: 'inherit' });
    }
    const loads = Array.from({ length: RUNS }, () => libraryLoad());
    const nodeBaseline = median(Array.from({ length: RUNS }, () => timedRun(['-e', '0']).wall));
    return {
      'synth floor median (ms)': round(c.floor.wall, 0),
      'synth example median (ms)': round(c.example.wall, 0),
      'synth ratio example/floor (target <= 1.5)': round(c.example.wall / c.floor.wall),
      'CPU: synth floor median (ms)': round(c.floor.cpu, 0),
      'CPU: synth example median (ms)': round(c.example.cpu, 0),
      'CPU: synth ratio example/floor (target <= 1.5)': round(c.example.cpu / c.floor.cpu),
      'CPU: example without its compile cache (ms)': round(c.exampleNoCache.cpu, 0),
      'CPU: ratio without it': round(c.exampleNoCache.cpu / c.floor.cpu),
      'CPU: both apps, every module cached (floor / example ms)': `${round(c.floorAllCached.cpu, 0)} / ${round(c.exampleAllCached.cpu, 0)}`,
      'CPU: ratio, both cached': round(c.exampleAllCached.cpu / c.floorAllCached.cpu),
      'tsx: synth floor median (ms)': round(tsx.floor.wall, 0),
      'tsx: synth example median (ms)': round(tsx.example.wall, 0),
      'tsx: synth ratio example/floor': round(tsx.example.wall / tsx.floor.wall),
      'library require() median (ms)': round(median(loads.map((l) => l.ms)), 0),
      'library load peak RSS median (MiB)': round(median(loads.map((l) => l.maxRssMiB)), 0),
      'node -e 0 median (ms)': round(nodeBaseline, 0),
      'runs': RUNS,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  console.table(await run());
}

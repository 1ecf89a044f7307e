// Synth of the example stack against a floor stack (providers + one resource group), each in
// its own process, interleaved, median of RUNS; plus the cost of loading the compiled library.
// Wall time, and the processes' own CPU time (user + system), which a busy shared machine
// disturbs far less. Every timed run synthesizes into an empty output folder.
//
// Both apps are measured as a consumer runs them: compiled JavaScript under plain `node`
// (esbuild, packages external). Under tsx every cdktf token's stack trace is resolved through
// source maps, which taxes the example's hundreds of tokens far more than the floor's few;
// that mode is reported too, for information.
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

function pair(floorArgs: string[], exampleArgs: string[], scratch: string, tag: string) {
  const probe = cpuProbe(scratch);
  const env = (outdir: string) => ({ BENCH_OUTDIR: join(scratch, outdir), BENCH_CPU_FILE: join(scratch, 'cpu.json') });
  const floor: Timing[] = [];
  const example: Timing[] = [];
  timedRun(floorArgs, env(`${tag}-warm`), probe);
  timedRun(exampleArgs, env(`${tag}-warm2`), probe);
  for (let i = 0; i < RUNS; i++) {
    floor.push(timedRun(floorArgs, env(`${tag}-f${i}`), probe));
    example.push(timedRun(exampleArgs, env(`${tag}-e${i}`), probe));
  }
  const med = (runs: Timing[], key: keyof Timing) => median(runs.map((r) => r[key]));
  return {
    floor: med(floor, 'wall'),
    example: med(example, 'wall'),
    floorCpu: med(floor, 'cpu'),
    exampleCpu: med(example, 'cpu'),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ipa-bench-synth-'));
  try {
    const compiled = pair([compile('floor-app.ts')], [compile('example-app.ts')], scratch, 'node');
    const tsx = pair(['--import', 'tsx', 'bench/floor-app.ts'], ['--import', 'tsx', 'bench/example-app.ts'], scratch, 'tsx');
    if (!existsSync(join(root, 'lib', 'index.js'))) {
      spawnSync('npx', ['jsii', '--silence-warnings=reserved-word'], { cwd: root, stdio: 'inherit' });
    }
    const loads = Array.from({ length: RUNS }, () => libraryLoad());
    const nodeBaseline = median(Array.from({ length: RUNS }, () => timedRun(['-e', '0']).wall));
    return {
      'synth floor median (ms)': round(compiled.floor, 0),
      'synth example median (ms)': round(compiled.example, 0),
      'synth ratio example/floor (target <= 1.5)': round(compiled.example / compiled.floor),
      'CPU: synth floor median (ms)': round(compiled.floorCpu, 0),
      'CPU: synth example median (ms)': round(compiled.exampleCpu, 0),
      'CPU: synth ratio example/floor': round(compiled.exampleCpu / compiled.floorCpu),
      'tsx: synth floor median (ms)': round(tsx.floor, 0),
      'tsx: synth example median (ms)': round(tsx.example, 0),
      'tsx: synth ratio example/floor': round(tsx.example / tsx.floor),
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

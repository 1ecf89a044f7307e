// Synth of the example stack against a floor stack (providers + one resource group), each in
// its own process, interleaved, median of RUNS; plus the cost of loading the compiled library.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, round } from './stats';

const root = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function timedRun(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

/** Loads lib/index.js in a fresh process and reports its own load time and peak RSS. */
function libraryLoad(): { ms: number; maxRssMiB: number } {
  const probe = "const t=process.hrtime.bigint();require('./lib/index.js');const ms=Number(process.hrtime.bigint()-t)/1e6;" +
    'console.log(JSON.stringify({ms,maxRssMiB:process.resourceUsage().maxRSS/1024}))';
  const result = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`loading lib/index.js failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

export async function run(): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ipa-bench-synth-'));
  try {
    const floor: number[] = [];
    const example: number[] = [];
    const tsx = ['--import', 'tsx'];
    timedRun([...tsx, 'bench/floor-app.ts'], { BENCH_OUTDIR: join(scratch, 'warm') }); // warm the transpile cache
    for (let i = 0; i < RUNS; i++) {
      floor.push(timedRun([...tsx, 'bench/floor-app.ts'], { BENCH_OUTDIR: join(scratch, `f${i}`) }));
      example.push(timedRun([...tsx, 'bench/example-app.ts'], { BENCH_OUTDIR: join(scratch, `e${i}`) }));
    }
    if (!existsSync(join(root, 'lib', 'index.js'))) {
      spawnSync('npx', ['jsii', '--silence-warnings=reserved-word'], { cwd: root, stdio: 'inherit' });
    }
    const loads = Array.from({ length: RUNS }, () => libraryLoad());
    const nodeBaseline = median(Array.from({ length: RUNS }, () => timedRun(['-e', '0'])));
    return {
      'synth floor median (ms)': round(median(floor), 0),
      'synth example median (ms)': round(median(example), 0),
      'synth ratio example/floor (target <= 2.0)': round(median(example) / median(floor)),
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

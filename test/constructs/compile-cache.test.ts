import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { projectCompileCacheDir } from '../../src/internal/compile-cache';

const root = resolve(__dirname, '..', '..');
let work: string;
let helper: string;

beforeAll(() => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'ipa-compile-cache-')));
  // The module as the package ships it (CommonJS), for plain node child processes.
  helper = join(work, 'compile-cache.cjs');
  buildSync({ entryPoints: [join(root, 'src', 'internal', 'compile-cache.ts')], outfile: helper, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs node: enables the cache in `cacheDir` through the library's function, then loads `module`. */
function load(module: string, cacheDir: string, env: NodeJS.ProcessEnv = {}): { dir: string | null; value: string } {
  const script = `const d = require(${JSON.stringify(helper)}).enableProjectCompileCache(${JSON.stringify(cacheDir)});` +
    `console.log(JSON.stringify({ dir: d ?? null, value: require(${JSON.stringify(module)}).value }));`;
  const childEnv = { ...process.env, ...env };
  if (!('NODE_DISABLE_COMPILE_CACHE' in env)) delete childEnv.NODE_DISABLE_COMPILE_CACHE; // the test config sets it
  delete childEnv.NODE_COMPILE_CACHE;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: childEnv, encoding: 'utf8' }));
}

const entries = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);

test("the cache lives in the project's node_modules (beside cdktf), never in the temp folder", () => {
  const dir = projectCompileCacheDir();
  expect(dir).toBe(join(realpathSync(join(root, 'node_modules')), '.cache', 'cdktf-identity-propagating-agent', 'compile-cache'));
  expect(dir!.startsWith(realpathSync(tmpdir()))).toBe(false);
});

test('a project inside the temp folder gets no cache (shared folder), nor one without cdktf', () => {
  const project = join(work, 'project');
  mkdirSync(join(project, 'node_modules', 'cdktf'), { recursive: true });
  writeFileSync(join(project, 'node_modules', 'cdktf', 'package.json'), '{"name":"cdktf","version":"0.0.0"}');
  writeFileSync(join(project, 'main.js'), '');
  expect(projectCompileCacheDir(join(project, 'main.js'))).toBeUndefined();
  expect(projectCompileCacheDir(join(work, 'elsewhere.js'))).toBeUndefined();
});

test('modules load through the cache; a changed module runs its new code; NODE_DISABLE_COMPILE_CACHE=1 turns it off', () => {
  const cache = join(work, 'cache');
  const module = join(work, 'provider-like.cjs');
  writeFileSync(module, "exports.value = 'first';\n");

  const first = load(module, cache);
  expect(first).toEqual({ dir: cache, value: 'first' });
  const written = entries(cache);
  expect(written.length).toBeGreaterThan(0);

  // Same size, other content: Node checks the source hash, so the stale entry is not used.
  writeFileSync(module, "exports.value = 'other';\n");
  expect(load(module, cache).value).toBe('other');

  const off = join(work, 'off');
  expect(load(module, off, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({ dir: null, value: 'other' });
  expect(() => readdirSync(off)).toThrow();
});

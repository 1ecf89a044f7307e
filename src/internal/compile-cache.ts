import { realpathSync } from 'node:fs';
import { createRequire, enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';

/**
 * The project's own cache folder for Node's compile cache: `.cache/<package>/compile-cache` in
 * the `node_modules` folder that holds cdktf (and the provider modules the cache is for), or
 * undefined when that folder is in the machine's temp folder (shared; e.g. a jsii kernel's
 * unpacked packages), so nothing is ever cached there.
 */
export function projectCompileCacheDir(from: string = __filename): string | undefined {
  let modules: string;
  try {
    modules = realpathSync(dirname(dirname(createRequire(from).resolve('cdktf/package.json'))));
  } catch {
    return undefined;
  }
  const temp = realpathOr(tmpdir());
  if (modules === temp || modules.startsWith(temp + sep)) return undefined;
  return join(modules, '.cache', 'cdktf-identity-propagating-agent', 'compile-cache');
}

/**
 * Turns on Node's module compile cache (V8 code cache on disk) for the modules loaded after this
 * call: the provider classes, cdktf's remaining modules and the library itself, about 7.5 MB of
 * JavaScript that every synth would otherwise compile again. Node checks each entry against the
 * module's size and hash and recompiles when it changed, so a stale entry is never used.
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off; a cache the user enabled (`NODE_COMPILE_CACHE`)
 * is kept. Never throws: a folder that cannot be written just means no cache.
 */
export function enableProjectCompileCache(directory: string | undefined = projectCompileCacheDir()): string | undefined {
  // Guarded: the package is loaded on runtimes without the API too (jsii kernels, older Node).
  if (directory === undefined || typeof enableCompileCache !== 'function') return undefined;
  return enableCompileCache(directory).directory;
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

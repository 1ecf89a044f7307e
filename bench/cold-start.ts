// Cold start of a service bundle, shared by the service benchmarks: spawn to the first 200 from
// /health, against spawn to exit of `node -e 0`.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * A server that loads what any Hono service on Node loads before its own code runs (node:http and
 * node:http2 as @hono/node-server imports them, the fetch classes it reads at import, WebCrypto for
 * jose) and answers 200 from a bare handler: the floor a service bundle's cold start is held to.
 */
export function builtinsFloorArgs(port: number): string[] {
  return ['--input-type=module', '-e', [
    "import { createServer } from 'node:http'; import 'node:http2'; import { webcrypto } from 'node:crypto';",
    'void globalThis.Response; void webcrypto.subtle;',
    `createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => console.log('listening'));`,
  ].join(' ')];
}

export interface Started {
  /** Wall time, spawn to the 200. */
  ms: number;
  /** CPU time the server used until the 200 (every thread), ms: what the shared machine's neighbours do not change. */
  cpuMs: number;
  child: ReturnType<typeof spawn>;
  exited: Promise<unknown>;
}

/** CPU time of a live process, every thread, in ms: the first field of each thread's schedstat, in ns. */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/**
 * Spawns `node args` and waits until it prints `listening` (the bundle's log line, or the floor's),
 * then asks /health once; the time is spawn to the 200. Waiting for the signal instead of polling
 * keeps the measuring process from competing for CPU with the one that starts (2 shared cores).
 */
export async function startServer(args: string[], env: Record<string, string>, healthUrl: string): Promise<Started> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`did not start: ${out}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => reject(new Error(`exited before listening: ${out}`)));
    });
    const res = await fetch(healthUrl);
    await res.text();
    if (!res.ok) throw new Error(`/health answered ${res.status}`);
    const ms = performance.now() - started;
    return { ms, cpuMs: processCpuMs(child.pid!), child, exited };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
}

export async function stopServer(s: Started): Promise<void> {
  s.child.kill('SIGKILL');
  await s.exited;
}

/** Wall and CPU time of a server's start, spawn to the first 200 from /health. */
export async function coldStart(args: string[], env: Record<string, string>, healthUrl: string): Promise<{ ms: number; cpuMs: number }> {
  const s = await startServer(args, env, healthUrl);
  await stopServer(s);
  return { ms: s.ms, cpuMs: s.cpuMs };
}

/** Spawn to exit of `node args` (the baseline), or spawn to the first 200 from /health. */
export async function coldStartMs(args: string[], env: Record<string, string>, healthUrl?: string): Promise<number> {
  if (healthUrl) {
    const s = await startServer(args, env, healthUrl);
    await stopServer(s);
    return s.ms;
  }
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return performance.now() - started;
}

// Runs the built Chat App bundle (`node lib-services/dist/chat-app/server.mjs`) as a child process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
export const BUNDLE = join(ROOT, 'lib-services/dist/chat-app/server.mjs');

/** `npm test` builds the services first; a bare vitest run builds the Chat App if it is missing. */
export function ensureBundle(): void {
  if (existsSync(BUNDLE) && existsSync(join(ROOT, 'lib-services/dist/chat-app/public/app.js'))) return;
  execFileSync(process.execPath, [join(ROOT, 'lib-services/build.mjs'), 'chat-app'], { cwd: ROOT, stdio: 'ignore' });
}

export interface RunningChatApp {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the bundle on a free port and resolves once it listens. */
export async function startBundle(env: Record<string, string>, timeoutMs = 10_000): Promise<RunningChatApp> {
  const child = spawn(process.execPath, [BUNDLE], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`chat-app did not start:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /"msg":"chat-app listening","port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`chat-app exited with ${code}:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    stop: () => new Promise<void>((ok) => {
      if (child.exitCode !== null) return ok();
      child.once('exit', () => ok());
      child.kill('SIGTERM');
    }),
  };
}

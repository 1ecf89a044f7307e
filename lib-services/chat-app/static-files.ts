// The SPA's files, read once into memory (main.ts: on the first page request): a handful of small files, so serving
// them needs no file system access per request and no path handling (no traversal).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

export interface StaticFile {
  body: Uint8Array;
  contentType: string;
  etag: string;
}

/** URL path (`/app.js`) to file. `/` is `index.html`. */
export type StaticFiles = ReadonlyMap<string, StaticFile>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export function staticFile(body: Uint8Array | string, contentType: string): StaticFile {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return { body: bytes, contentType, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"` };
}

/** Every file of a flat folder with a known type (source maps and unknown types are left out). */
export function loadStaticFiles(dir: string): StaticFiles {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (!type || !statSync(path).isFile()) continue;
    files.set(`/${name}`, staticFile(readFileSync(path), type));
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}

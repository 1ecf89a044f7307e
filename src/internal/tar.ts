import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';

/** Fixed metadata: the archive depends on file names and contents only. */
const MTIME = 946684800; // 2000-01-01T00:00:00Z (some tools warn about 0)
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const BLOCK = 512;
const RECORD = BLOCK * 20;

export interface ContextArchive {
  /** sha256 (hex) of the tar: the content hash the image tag derives from. */
  readonly sha256: string;
  /** Length of the tar in bytes. */
  readonly size: number;
  /** The tar's bytes in order (joined only to be written). */
  readonly parts: readonly Buffer[];
}

function octal(value: number, width: number): string {
  // width - 1 digits, then NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(path: string, size: number, directory: boolean): Buffer {
  const block = Buffer.alloc(BLOCK, 0);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar: split at a slash into prefix (155) and name (100).
    const cut = path.lastIndexOf('/', path.length - 1 - (directory ? 1 : 0));
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new Error(`build context: path "${path}" is too long for a tar entry`);
    }
  }
  block.write(name, 0, 100, 'utf8');
  block.write(octal(directory ? DIR_MODE : FILE_MODE, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii'); // uid
  block.write(octal(0, 8), 116, 8, 'ascii'); // gid
  block.write(octal(size, 12), 124, 12, 'ascii');
  block.write(octal(MTIME, 12), 136, 12, 'ascii');
  block.write('        ', 148, 8, 'ascii'); // checksum placeholder (spaces)
  block.write(directory ? '5' : '0', 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return block;
}

function withSlash(root: string): string {
  return root.endsWith('/') ? root : `${root}/`;
}

/** A file or directory (path ending in `/`) of a context, relative, POSIX, with what its signature needs. */
interface Entry {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The entries under `root`, sorted by byte order (each stat once). */
function entries(root: string): Entry[] {
  const out: Entry[] = [];
  const base = withSlash(root);
  const walk = (relative: string) => {
    for (const name of readdirSync(base + relative)) {
      const path = relative ? `${relative}${name}` : name;
      const stat = lstatSync(base + path);
      if (stat.isDirectory()) {
        out.push({ path: `${path}/`, size: 0, mtimeMs: 0 });
        walk(`${path}/`);
      } else if (stat.isFile()) {
        out.push({ path, size: stat.size, mtimeMs: stat.mtimeMs });
      } else {
        throw new Error(`build context: "${base}${path}" is neither a file nor a directory (links are not archived)`);
      }
    }
  };
  walk('');
  const bytes = new Map(out.map((e) => [e, Buffer.from(e.path)]));
  return out.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
}

/**
 * A deterministic tar of a folder: sorted entries, fixed mtime, uid, gid and modes. The same
 * files give the same bytes, so the image tag derived from it changes only when the content does.
 *
 * Not compressed: gzip cost about 100 ms per service on every synth, to save a few MB of an
 * upload that happens only when the content changes; the ACR build agent reads a plain tar
 * (Azure/acr-builder `scan/context.go`: any tar, compressed or not, is untarred).
 */
export function contextArchive(root: string, listed: readonly Entry[] = entries(root)): ContextArchive {
  const paths = listed.map((e) => e.path);
  // Joined by hand: path.join's normalization cost more than the reads of a hundred files.
  const base = withSlash(root);
  const parts: Buffer[] = [];
  const hash = createHash('sha256');
  let size = 0;
  const add = (part: Buffer) => {
    parts.push(part);
    hash.update(part);
    size += part.length;
  };
  for (const path of paths) {
    if (path.endsWith('/')) {
      add(header(path, 0, true));
      continue;
    }
    const content = readFileSync(base + path);
    add(header(path, content.length, false));
    add(content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad) add(Buffer.alloc(pad, 0));
  }
  add(Buffer.alloc(BLOCK * 2, 0));
  const recordPad = (RECORD - (size % RECORD)) % RECORD;
  if (recordPad) add(Buffer.alloc(recordPad, 0));
  return { sha256: hash.digest('hex'), size, parts };
}

/** The archive as one buffer (to write it). */
export function archiveBytes(archive: ContextArchive): Buffer {
  return Buffer.concat(archive.parts as Buffer[], archive.size);
}

/** In this process only: the archive of a folder, while its files' names, sizes and mtimes are unchanged. */
const memo = new Map<string, { signature: string; archive: ContextArchive }>();

/**
 * {@link contextArchive}, reused within one process while the folder's files are unchanged
 * (an app that builds several stacks reads each bundle once). Nothing is remembered on disk:
 * every process hashes the files it ships.
 */
export function cachedContextArchive(root: string): ContextArchive {
  const listed = entries(root);
  const signature = listed.map((e) => `${e.path}:${e.size}:${e.mtimeMs}`).join('|');
  const hit = memo.get(root);
  if (hit && hit.signature === signature) return hit.archive;
  const archive = contextArchive(root, listed);
  memo.set(root, { signature, archive });
  return archive;
}

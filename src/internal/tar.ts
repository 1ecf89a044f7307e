import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Fixed metadata: the archive depends on file names and contents only. */
const MTIME = 946684800; // 2000-01-01T00:00:00Z (some tools warn about 0)
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const BLOCK = 512;
const RECORD = BLOCK * 20;

export interface ContextArchive {
  /** The gzip-compressed tar. */
  readonly gzip: Buffer;
  /** sha256 (hex) of the uncompressed tar: stable even if a zlib build compresses differently. */
  readonly sha256: string;
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

/** Relative POSIX paths under `root`, directories with a trailing slash, sorted by byte order. */
function entries(root: string, relative = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, relative))) {
    const path = relative ? `${relative}/${name}` : name;
    const stat = lstatSync(join(root, path));
    if (stat.isDirectory()) {
      out.push(`${path}/`, ...entries(root, path));
    } else if (stat.isFile()) {
      out.push(path);
    } else {
      throw new Error(`build context: "${join(root, path)}" is neither a file nor a directory (links are not archived)`);
    }
  }
  return out;
}

/**
 * A deterministic `tar.gz` of a folder: sorted entries, fixed mtime, uid, gid and modes,
 * gzip without a timestamp. The same files give the same bytes, so the image tag derived
 * from it changes only when the content does.
 */
export function contextArchive(root: string): ContextArchive {
  const paths = entries(root).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: Buffer[] = [];
  for (const path of paths) {
    if (path.endsWith('/')) {
      parts.push(header(path, 0, true));
      continue;
    }
    const content = readFileSync(join(root, path));
    parts.push(header(path, content.length, false), content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  let tar = Buffer.concat(parts);
  const recordPad = (RECORD - (tar.length % RECORD)) % RECORD;
  if (recordPad) tar = Buffer.concat([tar, Buffer.alloc(recordPad, 0)]);

  const sha256 = createHash('sha256').update(tar).digest('hex');
  let gzip: Buffer | undefined;
  return {
    sha256,
    // Compressed on first use only: a context already staged under its hash is not compressed again.
    get gzip() {
      if (!gzip) {
        // Fast compression: synth time matters more than a few hundred KB of upload.
        gzip = gzipSync(tar, { level: 1 });
        // The gzip header's MTIME is 0 already; its OS byte depends on the platform zlib was built for.
        gzip[9] = 255;
      }
      return gzip;
    },
  };
}

const cache = new Map<string, { signature: string; archive: ContextArchive }>();

/** Where the content hash of a folder is remembered across processes, keyed by its files' names, sizes and mtimes. */
function hashCacheFile(root: string, signature: string): string {
  const key = createHash('sha256').update(root).update('\0').update(signature).digest('hex');
  return join(tmpdir(), 'cdktf-identity-propagating-agent', 'context-hashes', key);
}

/**
 * {@link contextArchive}, reused while the folder's files are unchanged: within one process, and
 * across processes through the remembered content hash, so a synth of unchanged bundles reads
 * no file contents (the archive itself is built only if its staged copy is missing).
 */
export function cachedContextArchive(root: string): ContextArchive {
  const signature = entries(root).map((p) => {
    const stat = statSync(join(root, p));
    return `${p}:${stat.size}:${stat.mtimeMs}`;
  }).join('|');
  const hit = cache.get(root);
  if (hit && hit.signature === signature) return hit.archive;
  const remembered = hashCacheFile(root, signature);
  let archive: ContextArchive;
  if (existsSync(remembered)) {
    const sha256 = readFileSync(remembered, 'utf8').trim();
    let built: ContextArchive | undefined;
    archive = { sha256, get gzip() { return (built ??= contextArchive(root)).gzip; } };
  } else {
    archive = contextArchive(root);
    mkdirSync(dirname(remembered), { recursive: true });
    const temporary = `${remembered}.${process.pid}.tmp`;
    writeFileSync(temporary, archive.sha256);
    renameSync(temporary, remembered);
  }
  cache.set(root, { signature, archive });
  return archive;
}

import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Fixed metadata: the archive depends on file names and contents only. */
const MTIME = 946684800; // 2000-01-01T00:00:00Z (some tools warn about 0)
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
const BLOCK = 512;
const RECORD = BLOCK * 20;

export interface ContextArchive {
  /** The uncompressed tar. */
  readonly tar: Buffer;
  /** The tar in gzip framing (stored, not compressed; see {@link contextArchive}). */
  readonly gzip: Buffer;
  /** sha256 (hex) of the uncompressed tar: the content hash the image tag derives from. */
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
 *
 * The gzip framing stores the tar uncompressed (level 0): compressing the bundles cost about
 * 100 ms per service on every synth, to save a few MB of an upload that happens only when the
 * content changes. Any gzip reader (the ACR build agent's included) reads stored blocks.
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
  const length = parts.reduce((n, part) => n + part.length, 0);
  parts.push(Buffer.alloc((RECORD - (length % RECORD)) % RECORD, 0));
  const tar = Buffer.concat(parts);
  const sha256 = createHash('sha256').update(tar).digest('hex');
  let gzip: Buffer | undefined;
  return {
    tar,
    sha256,
    // Framed on first use only: a context already staged in the synth output is not framed again.
    get gzip() {
      if (!gzip) {
        gzip = gzipSync(tar, { level: 0 });
        // The gzip header's MTIME is 0 already; its OS byte depends on the platform zlib was built for.
        gzip[9] = 255;
      }
      return gzip;
    },
  };
}

/** True when `gzip` holds exactly `archive` (a staged copy is used only after this check). */
export function holdsArchive(gzip: Buffer, archive: ContextArchive): boolean {
  try {
    return gunzipSync(gzip).equals(archive.tar);
  } catch {
    return false;
  }
}

/** In this process only: the archive of a folder, while its files' names, sizes and mtimes are unchanged. */
const memo = new Map<string, { signature: string; archive: ContextArchive }>();

/**
 * {@link contextArchive}, reused within one process while the folder's files are unchanged
 * (an app that builds several stacks reads each bundle once). Nothing is remembered on disk:
 * every process hashes the files it ships.
 */
export function cachedContextArchive(root: string): ContextArchive {
  const signature = entries(root).map((p) => {
    const stat = statSync(join(root, p));
    return `${p}:${stat.size}:${stat.mtimeMs}`;
  }).join('|');
  const hit = memo.get(root);
  if (hit && hit.signature === signature) return hit.archive;
  const archive = contextArchive(root);
  memo.set(root, { signature, archive });
  return archive;
}

/**
 * Files the user names (a config, a policy, a manifest; an output file). Every front end reads and writes
 * them through here, so the same rules hold everywhere:
 * - a read takes only a regular file, below a size cap for its kind, with a bounded read: `/dev/zero`, a FIFO
 *   or a file that grows while read is refused, never read into memory without end;
 * - a write never replaces an existing file unless asked (`force`), and then only a regular file: never
 *   through a symbolic link, never over a device, FIFO, socket or folder; it goes to a temp file in the same
 *   folder and is renamed into place, so a reader never sees half a file;
 * - errors name the file (and what it is), never its contents.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError } from './errors';

export { parseJsonText, checkJsonDepth, MAX_JSON_DEPTH } from './json-text';

const MiB = 1024 * 1024;
/** A run config: a few KiB in practice. */
export const CONFIG_MAX_BYTES = 4 * MiB;
/** A pair policy: K² pairs at most, K in the hundreds. */
export const POLICY_MAX_BYTES = 4 * MiB;
/** A CSV manifest: read as a stream, row by row, never whole; the cap only stops an endless file. */
export const MANIFEST_MAX_BYTES = 1024 * MiB;

export interface UserFileOptions {
  /** A word for messages: "config", "policy", "manifest". */
  what: string;
  maxBytes: number;
  /** The field named when the path itself is bad (a NUL byte, an over-long name); default: `what`. */
  field?: string;
}

function formatBytes(n: number): string {
  if (n >= MiB) return `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}

/** What a non-regular file is, for "… is a FIFO, not a regular file". */
export function describeKind(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function fsError(err: unknown, what: string, path: string, verb: string): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new AppError('not-found', `${what} ${path} does not exist`);
  return new AppError('io', `cannot ${verb} ${what} ${path}: ${code ?? (err as Error).message}`);
}

/** The checks before any byte is read: a regular file (links followed) no bigger than the cap. */
function checkReadable(st: Stats, path: string, { what, maxBytes }: UserFileOptions): void {
  if (!st.isFile()) throw new AppError('input', `${what} ${path} is ${describeKind(st)}, not a regular file`);
  if (st.size > maxBytes) {
    throw new AppError('input', `${what} ${path} is ${formatBytes(st.size)}, over the ${formatBytes(maxBytes)} limit for a ${what}`);
  }
}

/**
 * Opens a file the user named for reading, after the checks (stat first, so a device or FIFO is never even
 * opened; fstat after, so a file swapped in between is caught). Non-blocking open: a FIFO put in place
 * between the two cannot hang the open. The caller closes the fd.
 */
export function openUserFile(file: string, opts: UserFileOptions): { fd: number; path: string; size: number } {
  const path = checkPathText(file, opts.field ?? opts.what);
  let fd: number | undefined;
  try {
    checkReadable(statSync(path), path, opts);
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const st = fstatSync(fd);
    checkReadable(st, path, opts);
    return { fd, path, size: st.size };
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    throw fsError(err, opts.what, path, 'read');
  }
}

/** Reads a file the user named, whole: at most `maxBytes` (a file that grows past the cap is refused). */
export function readUserFile(file: string, opts: UserFileOptions): Buffer {
  const { fd, path, size } = openUserFile(file, opts);
  try {
    // Room for one byte more than fstat said, so growth shows; the buffer grows only up to cap + 1, so the
    // loop ends at EOF or at the cap, whatever the file does meanwhile.
    let buf = Buffer.alloc(Math.min(size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > opts.maxBytes) {
          throw new AppError('input', `${opts.what} ${path} grew past the ${formatBytes(opts.maxBytes)} limit for a ${opts.what} while being read`);
        }
        const more = Buffer.alloc(Math.min(Math.max(buf.length * 2, 64 * 1024), opts.maxBytes + 1));
        buf.copy(more);
        buf = more;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) return buf.subarray(0, n);
      n += got;
    }
  } catch (err) {
    throw fsError(err, opts.what, path, 'read');
  } finally {
    closeSync(fd);
  }
}

/** `readUserFile` as UTF-8 text (a leading byte-order mark dropped). */
export function readUserText(file: string, opts: UserFileOptions): string {
  return readUserFile(file, opts).toString('utf8').replace(/^\uFEFF/, '');
}

const PATH_MAX = 4096;
const NAME_MAX = 255;

/**
 * Checks a path the user gave (a file to read, a FILE or `--out DIR` to write) before anything touches the file
 * system, so a NUL byte or an over-long name is a mistake naming `field` (exit 2 / 400) rather than an errno.
 * Returns the resolved path.
 */
export function checkPathText(path: unknown, field: string): string {
  if (typeof path !== 'string' || path === '') throw new AppError('input', `${field}: must be a path`);
  const problem = pathTextProblem(path);
  if (problem) throw new AppError('input', `${field}: ${problem}`);
  return resolve(path);
}

/** Why `path` cannot name a file on this system (a NUL byte, too long), or undefined; the schemas use it too. */
export function pathTextProblem(path: string): string | undefined {
  if (path.includes('\u0000')) return 'the path contains a NUL byte';
  const abs = resolve(path);
  if (Buffer.byteLength(abs) > PATH_MAX) return `the path is longer than ${PATH_MAX} bytes`;
  if (abs.split(/[\\/]/).some((part) => Buffer.byteLength(part) > NAME_MAX)) return `a name in the path is longer than ${NAME_MAX} bytes`;
  return undefined;
}

export interface WriteOptions {
  /** A word for messages: "policy", "config". */
  what: string;
  /** Replace an existing regular file (`--force`). */
  force?: boolean;
  /** The field named when the path itself is bad (default "file"). */
  field?: string;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Refuses an existing target: always without force; with force anything but a regular file. */
function checkTarget(path: string, opts: WriteOptions): void {
  const st = lstatOrNull(path);
  if (!st) return;
  if (!opts.force) throw new AppError('conflict', `${path} exists; pass --force to replace it`);
  if (!st.isFile()) {
    const why = st.isSymbolicLink() ? 'a symbolic link (never written through)' : describeKind(st);
    throw new AppError('input', `${path} is ${why}; only a regular file can be replaced`);
  }
}

/**
 * Writes a file the user named, whole and atomically: temp file in the same folder (O_EXCL), fsync, then
 * put in place — without force by a hard link, which fails if the name appeared meanwhile, so nothing is
 * ever replaced; with force by a rename over the regular file checked just before. Returns the path.
 */
export function writeUserFile(file: string, data: string | Uint8Array, opts: WriteOptions): string {
  const path = checkPathText(file, opts.field ?? 'file');
  const tmp = join(dirname(path), `.${basename(path).slice(0, 200)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  let placed = false;
  try {
    checkTarget(path, opts);
    fd = openSync(tmp, 'wx', 0o666);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (!opts.force) {
      try {
        linkSync(tmp, path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new AppError('conflict', `${path} exists; pass --force to replace it`);
        // A file system without hard links (FAT, some network shares): check again, then rename.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
        checkTarget(path, opts);
        renameSync(tmp, path);
        placed = true;
      }
    } else {
      checkTarget(path, opts);
      renameSync(tmp, path);
      placed = true;
    }
    return path;
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('not-found', `cannot write ${opts.what} ${path}: folder ${dirname(path)} does not exist`);
    throw new AppError('io', `cannot write ${opts.what} ${path}: ${code ?? (err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (!placed) {
      try {
        unlinkSync(tmp);
      } catch {
        // Not created, or already linked away: nothing to clean.
      }
    }
  }
}

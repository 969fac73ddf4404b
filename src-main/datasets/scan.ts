/**
 * The scan: walks a dataset folder (or reads a CSV manifest), reads each new or changed file once (content
 * hash + header probe + structural check, no pixel decoding), and records it in SQLite in batched
 * transactions. Unchanged files (same size and mtime) are not re-read. A scan killed midway leaves every
 * committed row valid and the dataset marked `scanning`; the next scan completes it.
 */
import { availableParallelism } from 'node:os';
import { existsSync, lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { basename, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AppError, cancelled } from '../core/errors';
import { workerEntry } from '../core/entries';
import type { Db } from '../db/connection';
import { checkManifest, readManifest } from './manifest';
import { readAndProbe, type FileReport } from './read-file';
import { findDataset, type Split } from './repository';
import { acquireScanLock } from './scan-lock';
import { fastWalkAddon, KIND_BAD_NAME, KIND_FILE, KIND_FOLDER, KIND_LINK, KIND_OTHER, SnapshotDiff } from './fast-walk';
import { hasSnapshot, loadKnown, readSnapshot, saveSnapshot, type Known, type SplitSource } from './snapshot';
import { summarizeDataset, type DatasetSummary } from './summary';
import { WorkerPool } from './worker-pool';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);
const SPLIT_FOLDERS: Record<string, Split> = { train: 'train', training: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test', testing: 'test' };

export interface ScanOptions {
  root: string;
  name?: string;
  manifest?: string;
  valFraction?: number;
  seed?: string | number;
  /** Worker threads for reading; default: cores (up to 8). 0 reads on the calling thread. */
  workers?: number;
  /** The first this-many files are read on the calling thread (0: always the pool, when workers > 0). */
  inlineBelow?: number;
  /** After those, the pool takes over when files average at least this many bytes (default 48 KiB). */
  poolMinBytes?: number;
  /** Files per transaction / worker message. */
  batchSize?: number;
  signal?: AbortSignal;
  /** `total` is 0 while the walk is still finding files (the label says how many so far). */
  onProgress?(p: { done: number; total: number; label: string }): void;
  /** Test hook: called after each committed batch (e.g. to kill the scan midway). */
  afterBatch?(committed: number): void;
}

export interface ScanResult extends DatasetSummary {
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  seconds: number;
}

interface Candidate {
  rel: string;
  file: string;
  cls: string;
  split: Split | null;
  source: Exclude<SplitSource, 'auto'>;
}

interface Issue {
  rel: string;
  kind: 'skipped' | 'dangling' | 'link' | 'manifest';
  reason: string;
}

const posixRel = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Score of a file for the seeded split: a 53-bit string hash (cyrb53) of seed and relative path, in [0, 1).
 * Depends on nothing but the file's own path and the seed, so a file keeps its score whatever else changes.
 */
export function splitScore(seed: string, rel: string): number {
  const str = `${seed}\u0000${rel}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)) / 2 ** 53;
}

function detectLayout(root: string): 'folders' | 'splits' {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root, { withFileTypes: true })
      .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || (d.isSymbolicLink() && isDir(join(root, d.name)))))
      .map((d) => d.name.toLowerCase());
  } catch {
    return 'folders';
  }
  return dirs.length > 0 && dirs.every((d) => d in SPLIT_FOLDERS) ? 'splits' : 'folders';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A folder's entries with their kinds, for when `readdirSync(dir, { withFileTypes: true })` failed on a readable
 * folder: where the file system reports no entry types, Node lstats every entry and fails the whole read if one
 * cannot be (gone since, a name that is not UTF-8, a folder that can be listed but not entered). Here such an
 * entry counts as a file, whose rules then report it, as the native diff does; undefined when the folder
 * cannot be listed at all.
 */
/** The walk's kind of a directory entry or an lstat result. */
function kindOf(d: Pick<Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): number {
  return d.isFile() ? KIND_FILE : d.isDirectory() ? KIND_FOLDER : d.isSymbolicLink() ? KIND_LINK : KIND_OTHER;
}

function readUntyped(dir: string, dirSep: string): [string, number][] | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  return names.map((name) => {
    let st: Stats | undefined;
    try {
      st = lstatSync(dirSep + name, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    return [name, st ? kindOf(st) : KIND_FILE];
  });
}

function within(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** The class and split every file of a folder gets, or why its files are skipped. */
type FolderWhere = { cls: string; split: Split | null; source: Candidate['source'] } | string;

/**
 * The native diff of one folder against the scan snapshot (fast-walk.ts): [unchanged, name, kind, row, ...],
 * an errno code, or undefined to read the folder here.
 */
type FolderDiff = (dir: string, prefix: string, where: FolderWhere) => (string | number)[] | string | undefined;

/**
 * Walks a class-folder or split-folder tree; yields the candidates of each folder (and, through `diff`, the
 * number of its files the native diff found unchanged) and records issues.
 * Synchronous directory reads (one call per folder): thread-pool round trips per folder cost more than they
 * save, and the caller yields to the event loop between chunks.
 */
function* walkTree(root: string, layout: 'folders' | 'splits', issues: Issue[], signal?: AbortSignal, diff?: FolderDiff): Generator<Candidate[] | number> {
  const realRoot = realpathSync(root);
  const seenOutside = new Set<string>();
  // Every file of a folder shares its class and split: work them out once per folder, from its relative path.
  const folderClass = (prefix: string): FolderWhere => {
    const parts = prefix === '' ? [] : prefix.split('/');
    if (layout === 'splits') {
      const split = parts.length ? SPLIT_FOLDERS[parts[0].toLowerCase()] : undefined;
      if (!split || parts.length < 2) return 'not inside a <split>/<class> folder';
      return { cls: parts[1], split, source: 'folder' };
    }
    if (parts.length < 1) return 'not inside a class folder';
    return { cls: parts[0], split: null, source: 'pending' };
  };
  // Depth-first over directories: [absolute dir to read, relative path prefix].
  const stack: [string, string][] = [[root, '']];
  while (stack.length) {
    if (signal?.aborted) throw cancelled('scan');
    const [dir, prefix] = stack.pop()!;
    const where = folderClass(prefix);
    const fast = diff?.(dir, prefix, where);
    // Plain concatenation: `dir` is already absolute and normalised (path.join per file cost more than the stat).
    const dirSep = dir.endsWith(sep) ? dir : dir + sep;
    let entries: Dirent[] = [];
    let untyped: [string, number][] | undefined;
    try {
      if (typeof fast === 'string') throw Object.assign(new Error(fast), { code: fast });
      if (!fast) entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      untyped = fast === undefined ? readUntyped(dir, dirSep) : undefined;
      if (!untyped) {
        issues.push({ rel: prefix || '.', kind: 'skipped', reason: `cannot read folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
    }
    const relPrefix = prefix ? `${prefix}/` : '';
    const onFile = (rel: string, abs: string, name: string): Candidate | undefined => {
      const dot = name.lastIndexOf('.');
      const ext = dot > 0 ? name.slice(dot).toLowerCase() : '';
      if (!IMAGE_EXTENSIONS.has(ext)) {
        issues.push({ rel, kind: 'skipped', reason: ext ? `not an image extension (${ext})` : 'no image extension' });
        return undefined;
      }
      if (typeof where === 'string') {
        issues.push({ rel, kind: 'skipped', reason: where });
        return undefined;
      }
      return { rel, file: abs, cls: where.cls, split: where.split, source: where.source };
    };
    const subdirs: [string, string][] = [];
    const found: Candidate[] = [];
    const replaced = new Set<string>();
    const visit = (name: string, kind: number): void => {
      const rel = relPrefix + name;
      const abs = dirSep + name;
      // A name whose bytes are not UTF-8 reaches JavaScript with U+FFFD in place of them: no call can open it by
      // that name (or it opens another file, whose name has a real U+FFFD there and sorts first).
      const lossy = kind === KIND_BAD_NAME || name.includes('\uFFFD');
      if (lossy && (kind === KIND_BAD_NAME || replaced.has(name) || !lstatSync(abs, { throwIfNoEntry: false }))) {
        issues.push({ rel, kind: 'skipped', reason: 'name is not valid UTF-8 (it cannot be opened by name here): rename it to index it' });
        return;
      }
      if (lossy) replaced.add(name);
      if (name.charCodeAt(0) === 46 /* . */) {
        issues.push({ rel, kind: 'skipped', reason: kind === KIND_FOLDER ? 'hidden folder' : 'hidden file' });
        return;
      }
      if (kind === KIND_FILE) {
        const c = onFile(rel, abs, name);
        if (c) found.push(c);
      } else if (kind === KIND_FOLDER) {
        subdirs.push([abs, rel]);
      } else if (kind === KIND_LINK) {
        let target: string;
        try {
          target = realpathSync(abs);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ELOOP') issues.push({ rel, kind: 'link', reason: 'symbolic link loop: adds nothing' });
          else issues.push({ rel, kind: 'dangling', reason: `dangling symbolic link (${code ?? 'unresolved'})` });
          return;
        }
        if (within(realRoot, target)) {
          issues.push({ rel, kind: 'link', reason: 'symbolic link into the dataset folder: adds nothing' });
          return;
        }
        if (seenOutside.has(target)) {
          issues.push({ rel, kind: 'link', reason: 'symbolic link to something already walked: adds nothing' });
          return;
        }
        let st: Stats;
        try {
          st = statSync(abs);
        } catch (err) {
          issues.push({ rel, kind: 'dangling', reason: `dangling symbolic link (${(err as NodeJS.ErrnoException).code})` });
          return;
        }
        seenOutside.add(target);
        if (st.isDirectory()) subdirs.push([abs, rel]);
        else if (st.isFile()) {
          const c = onFile(rel, abs, name);
          if (c) found.push(c);
        } else issues.push({ rel, kind: 'skipped', reason: 'not a regular file' });
      } else {
        issues.push({ rel, kind: 'skipped', reason: 'not a regular file' });
      }
    };
    if (fast) {
      for (let i = 1; i < fast.length; i += 3) visit(fast[i] as string, fast[i + 1] as number);
      if ((fast[0] as number) > 0) yield fast[0] as number;
    } else if (untyped) for (const [name, kind] of untyped) visit(name, kind);
    else for (const d of entries) visit(d.name, kindOf(d));
    if (found.length) yield found;
    // Reverse so that the walk visits sub-folders in directory order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
}

/** The manifest's rows as candidates, streamed (datasets/manifest.ts reads and checks the file). */
function* manifestCandidates(root: string, manifest: string, issues: Issue[]): Generator<Candidate[]> {
  const name = basename(manifest);
  const seen = new Set<string>();
  for (const { line, cells } of readManifest(manifest)) {
    const [rawPath = '', rawLabel = '', rawSplit = ''] = cells.map((c) => c.trim());
    const where = `${name} line ${line}`;
    const rel = rawPath ? posixRel(isAbsolute(rawPath) ? rawPath : relative(root, resolve(root, rawPath))) : `${name}:${line}`;
    if (cells.length < 2 || cells.length > 3) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: expected path,label[,split], got ${cells.length} field(s)` });
      continue;
    }
    if (!rawPath) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: empty path` });
      continue;
    }
    if (!rawLabel) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: empty label for ${rawPath}` });
      continue;
    }
    let split: Split | null = null;
    if (rawSplit) {
      split = SPLIT_FOLDERS[rawSplit.toLowerCase()] ?? null;
      if (!split) {
        issues.push({ rel, kind: 'manifest', reason: `${where}: unknown split '${rawSplit}' (train, val or test)` });
        continue;
      }
    }
    if (seen.has(rel)) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: ${rawPath} is listed twice (first row kept)` });
      continue;
    }
    const file = isAbsolute(rawPath) ? rawPath : resolve(root, rawPath);
    const ext = extname(file).toLowerCase();
    if (!IMAGE_EXTENSIONS.has(ext)) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: ${rawPath} has no image extension` });
      continue;
    }
    if (!existsSync(file)) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: file not found: ${rawPath}` });
      continue;
    }
    seen.add(rel);
    yield [{ rel, file, cls: rawLabel, split, source: split ? 'manifest' : 'pending' }];
  }
}

/**
 * Reads files on the calling thread until it is clear the worker pool pays: after `inlineBelow` files, the
 * pool takes over when the files are big enough (`poolMinBytes` on average) for hashing to outweigh the
 * per-file cost of handing work between threads. Small files (thumbnail-sized datasets) stay on one thread,
 * which measured faster here, above all on a busy machine where every hand-off waits for a time slice.
 */
class Reader {
  private pool: WorkerPool<string[], FileReport[]> | undefined;
  private submitted = 0;
  private inlineFiles = 0;
  private inlineBytes = 0;
  constructor(
    private readonly workers: number,
    private readonly inlineBelow = 512,
    private readonly poolMinBytes = 48 * 1024,
  ) {}

  private usePool(): boolean {
    if (this.workers <= 0) return false;
    if (this.pool || this.inlineBelow === 0) return true;
    if (this.submitted <= this.inlineBelow || this.inlineFiles === 0) return false;
    return this.inlineBytes / this.inlineFiles >= this.poolMinBytes;
  }

  async read(files: string[]): Promise<FileReport[]> {
    this.submitted += files.length;
    if (this.usePool()) {
      this.pool ??= new WorkerPool<string[], FileReport[]>(workerEntry('scan-worker', 'datasets/scan-worker.ts'), this.workers);
      return this.pool.run(files);
    }
    await new Promise((r) => setImmediate(r));
    const out = files.map(readAndProbe);
    this.inlineFiles += out.length;
    for (const r of out) this.inlineBytes += r.size;
    return out;
  }

  get concurrency(): number {
    return this.pool ? this.workers * 2 : 2;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Scans a dataset folder (see the file comment). One scan of a folder runs at a time (./scan-lock.ts): a second
 * one is refused at once with AppError 'conflict' naming the process that holds it.
 */
export async function scanDataset(db: Db, opts: ScanOptions): Promise<ScanResult> {
  const root = resolve(opts.root);
  const byRoot = db.prepare('SELECT name FROM datasets WHERE root = ? ORDER BY id LIMIT 1').pluck().get(root) as string | undefined;
  const lock = acquireScanLock(db, root, opts.name ?? byRoot ?? basename(root));
  try {
    return await scanFolder(db, opts);
  } finally {
    lock.release();
  }
}

async function scanFolder(db: Db, opts: ScanOptions): Promise<ScanResult> {
  const started = performance.now();
  const root = resolve(opts.root);
  let rootStat: Stats;
  try {
    rootStat = statSync(root);
  } catch {
    throw new AppError('not-found', `dataset folder ${root} does not exist`);
  }
  if (!rootStat.isDirectory()) throw new AppError('input', `${root} is not a folder`);
  const manifest = opts.manifest ? resolve(opts.manifest) : undefined;
  // A file that is not a manifest (or not a regular file) is refused before the dataset is touched.
  if (manifest) checkManifest(manifest);
  const valFraction = opts.valFraction ?? 0.2;
  if (!(valFraction >= 0 && valFraction < 1)) throw new AppError('input', `--val-fraction must be in [0, 1), got ${valFraction}`);
  const seed = String(opts.seed ?? 0);
  const layout = manifest ? 'manifest' : detectLayout(root);
  const batchSize = opts.batchSize ?? 256;
  const signal = opts.signal;

  // The dataset row: by --name, else by the folder (same root), else a new one named after the folder.
  let ds = opts.name ? findDataset(db, opts.name) : undefined;
  if (ds && ds.root !== root) {
    throw new AppError('conflict', `dataset '${ds.name}' is indexed from ${ds.root}, not ${root}; choose another --name`);
  }
  if (!ds && !opts.name) {
    const byRoot = db.prepare('SELECT id FROM datasets WHERE root = ? ORDER BY id LIMIT 1').pluck().get(root) as number | undefined;
    ds = byRoot !== undefined ? findDataset(db, byRoot) : undefined;
    if (!ds && findDataset(db, basename(root))) {
      throw new AppError('conflict', `a dataset named '${basename(root)}' already exists for another folder; give this one a --name`);
    }
  }
  let datasetId: number;
  let resplit = false;
  if (ds) {
    datasetId = ds.id;
    resplit = ds.valFraction !== valFraction || ds.seed !== seed;
    db.prepare(
      "UPDATE datasets SET manifest = ?, layout = ?, val_fraction = ?, seed = ?, scan_state = 'scanning', updated_at = ? WHERE id = ?",
    ).run(manifest ?? null, layout, valFraction, seed, nowIso(), datasetId);
  } else {
    const name = opts.name ?? basename(root);
    try {
      datasetId = Number(
        db
          .prepare("INSERT INTO datasets (name, root, manifest, layout, val_fraction, seed, scan_state) VALUES (?, ?, ?, ?, ?, ?, 'scanning')")
          .run(name, root, manifest ?? null, layout, valFraction, seed).lastInsertRowid,
      );
    } catch (err) {
      // Another process indexing another folder under the same name got there first (the scan lock is per folder).
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
      throw new AppError('conflict', `a dataset named '${name}' was just created by another process for another folder; give this one another --name`);
    }
  }
  if (resplit) db.prepare("UPDATE images SET split_source = 'pending' WHERE dataset_id = ? AND split_source = 'auto'").run(datasetId);

  // What the database already knows, to skip unchanged files and find removed ones.
  // With the native folder diff, rows enter `known` only as the walk needs them (see SnapshotDiff).
  const known = new Map<string, Known>();
  const snap = readSnapshot(db, datasetId);
  const snapDiff = snap && !manifest ? SnapshotDiff.open(snap) : undefined;
  // A snapshot the diff cannot use (written by an older version, not grouped by folder) is written anew at the end.
  const regroup = snap !== undefined && !manifest && !snapDiff && fastWalkAddon() !== undefined;
  if (!snapDiff) for (const r of loadKnown(db, datasetId, snap).rows) known.set(r[0], r);

  const classIds = new Map<string, number>();
  for (const r of db.prepare('SELECT name, id FROM classes WHERE dataset_id = ?').raw().all(datasetId) as [string, number][]) classIds.set(r[0], r[1]);
  const insertClass = db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)');
  const classId = (name: string): number => {
    let id = classIds.get(name);
    if (id === undefined) {
      id = Number(insertClass.run(datasetId, name).lastInsertRowid);
      classIds.set(name, id);
    }
    return id;
  };
  const insertImage = db.prepare(
    `INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels, status, reason)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updateImage = db.prepare(
    `UPDATE images SET class_id = ?, split = ?, split_source = ?, bytes = ?, mtime_ms = ?, hash = ?, format = ?, width = ?, height = ?,
       channels = ?, status = ?, reason = ?, verified = 0, thumb = NULL WHERE id = ?`,
  );
  const relabel = db.prepare('UPDATE images SET class_id = ?, split = ?, split_source = ? WHERE id = ?');

  interface Job {
    c: Candidate;
    file: string;
    prior?: Known;
  }
  let added = 0;
  let removed = 0;
  let changed = 0;
  let unchanged = 0;
  let done = 0;
  let total = 0;
  let lastEmit = 0;
  let walked = false;
  const progress = (label: string, force = false) => {
    const now = performance.now();
    if (!force && now - lastEmit < 100) return;
    lastEmit = now;
    opts.onProgress?.(walked ? { done, total, label } : { done, total: 0, label: `${label} (${total} found)` });
  };

  // New rows go in ROWS_PER_INSERT at a time: one statement step per 32 rows instead of per row.
  const ROWS_PER_INSERT = 32;
  const insertColumns =
    '(dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels, status, reason)';
  const insertMany = db.prepare(
    `INSERT INTO images ${insertColumns} VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
  );
  const deleteImage = db.prepare('DELETE FROM images WHERE id = ?');
  const writeBatch = db.transaction((jobs: Job[], reports: FileReport[], relabels: [Candidate, Known][]) => {
    let pendingRows: unknown[] = [];
    let pendingCount = 0;
    for (let i = 0; i < jobs.length; i++) {
      const { c, prior } = jobs[i];
      const r = reports[i];
      if (r.missing) {
        // Gone between the walk and the read.
        issues.push({ rel: c.rel, kind: 'skipped', reason: 'vanished during the scan' });
        if (prior) {
          deleteImage.run(prior[1]);
          changed--;
          removed++;
        } else added--;
        continue;
      }
      if (!r.ok && r.unreadable) {
        // A read error (EACCES, EIO...) says nothing about the image: no verdict is stored. A new file gets no
        // row; a known one keeps its row as it was (its size or mtime differ from the file's), so the next scan
        // reads it again either way.
        issues.push({ rel: c.rel, kind: 'skipped', reason: `${r.reason} (not indexed; the next scan tries again)` });
        if (prior) changed--;
        else added--;
        continue;
      }
      const cid = classId(c.cls);
      const split = c.source === 'pending' ? (prior && prior[6] === 'auto' ? prior[5] : 'train') : c.split!;
      const source = c.source === 'pending' && prior && prior[6] === 'auto' ? 'auto' : c.source;
      const fields = r.ok
        ? [r.hash, r.format, r.width, r.height, r.channels, 'ok', null]
        : [r.hash, r.format ?? null, null, null, null, 'corrupt', r.reason];
      if (prior) updateImage.run(cid, split, source, r.size, r.mtimeMs, ...fields, prior[1]);
      else {
        pendingRows.push(datasetId, c.rel, cid, split, source, r.size, r.mtimeMs, ...fields);
        if (++pendingCount === ROWS_PER_INSERT) {
          insertMany.run(pendingRows);
          pendingRows = [];
          pendingCount = 0;
        }
      }
    }
    for (let k = 0; k < pendingRows.length; k += 14) insertImage.run(pendingRows.slice(k, k + 14));
    for (const [c, k] of relabels) {
      const keepAuto = c.source === 'pending' && (k[6] === 'auto' || k[6] === 'pending');
      relabel.run(classId(c.cls), keepAuto ? k[5] : c.split ?? 'train', keepAuto ? k[6] : c.source, k[1]);
    }
  });

  const reader = new Reader(opts.workers ?? defaultWorkers(), opts.inlineBelow, opts.poolMinBytes);
  // A known file is only statted: same size and mtime means unchanged (not read again).
  const compareStat = (c: Candidate, prior: Known): void => {
    const st = statSync(c.file, { throwIfNoEntry: false });
    if (!st || !st.isFile()) {
      // Gone (or no longer a file): it stays in `known` and is removed with the other files not found.
      issues.push({ rel: c.rel, kind: 'skipped', reason: 'vanished or not a regular file' });
      total--;
      return;
    }
    known.delete(c.rel);
    if (prior[2] === st.size && prior[3] === st.mtimeMs) {
      unchanged++;
      done++;
      const cid = classIds.get(c.cls);
      const sameSplit =
        c.source === 'pending' ? prior[6] === 'auto' || prior[6] === 'pending' : prior[6] === c.source && prior[5] === c.split;
      if (cid !== prior[4] || !sameSplit) relabels.push([c, prior]);
    } else {
      changed++;
      batch.push({ c, file: c.file, prior });
    }
  };
  const issues: Issue[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let committed = 0;
  let batch: Job[] = [];
  let relabels: [Candidate, Known][] = [];

  const flush = () => {
    const jobs = batch;
    const rel = relabels;
    batch = [];
    relabels = [];
    if (jobs.length === 0 && rel.length === 0) return;
    const p = (async () => {
      const reports = jobs.length ? await reader.read(jobs.map((j) => j.file)) : [];
      if (signal?.aborted || failure) return;
      writeBatch(jobs, reports, rel);
      committed += jobs.length;
      done += jobs.length;
      opts.afterBatch?.(committed);
      progress('reading');
    })()
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };

  try {
    const folderDiff: FolderDiff | undefined =
      snapDiff &&
      ((dir, prefix, where) =>
        snapDiff.folder(dir, prefix, typeof where === 'string' ? undefined : { classId: classIds.get(where.cls), split: where.split, source: where.source }, known));
    const source = manifest
      ? manifestCandidates(root, manifest, issues)
      : walkTree(root, layout === 'splits' ? 'splits' : 'folders', issues, signal, folderDiff);
    let sinceYield = 0;
    for (const chunk of source) {
      if (typeof chunk === 'number') {
        // Files the native diff found unchanged (same size and mtime, same class and split).
        total += chunk;
        unchanged += chunk;
        done += chunk;
        progress('scanning');
        sinceYield += chunk;
        if (sinceYield >= 2048) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
        continue;
      }
      for (const c of chunk) {
        // Let cancellation (Ctrl+C, the UI) and worker results in every few thousand files.
        if (++sinceYield >= 2048) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
        if (signal?.aborted) throw cancelled('scan');
        if (failure) throw failure;
        total++;
        const prior = known.get(c.rel);
        if (!prior) {
          // A new file: size and mtime come from the one read.
          added++;
          batch.push({ c, file: c.file });
        } else compareStat(c, prior);
        if (batch.length + relabels.length >= batchSize) {
          flush();
          while (inflight.size >= reader.concurrency) await Promise.race(inflight);
        }
      }
      progress('scanning');
    }
    walked = true;
    flush();
    while (inflight.size) await Promise.race(inflight);
    if (failure) throw failure;
    if (signal?.aborted) throw cancelled('scan');
  } catch (err) {
    await Promise.allSettled([...inflight]);
    await reader.close();
    throw err instanceof AppError ? err : (signal?.aborted ? cancelled('scan') : err);
  }
  await reader.close();

  // Removed files, empty classes, the seeded split of new files, the issue list: one transaction.
  snapDiff?.handOverRest(known);
  const removedIds = [...known.values()].map((k) => k[1]);
  removed += removedIds.length;
  db.transaction(() => {
    const del = db.prepare('DELETE FROM images WHERE id = ?');
    for (const id of removedIds) del.run(id);
    db.prepare('DELETE FROM classes WHERE dataset_id = ? AND id NOT IN (SELECT DISTINCT class_id FROM images WHERE dataset_id = ?)').run(
      datasetId,
      datasetId,
    );
    // A snapshot that is still current here means the last scan completed (leaving nothing pending) and no
    // image row has been written since, this scan included: nothing to assign, and no table scan to learn that.
    const snapshotCurrent = hasSnapshot(db, datasetId);
    if (!snapshotCurrent) assignPendingSplits(db, datasetId, valFraction, seed);
    db.prepare('DELETE FROM scan_issues WHERE dataset_id = ?').run(datasetId);
    const ins = db.prepare('INSERT INTO scan_issues (dataset_id, rel_path, kind, reason) VALUES (?, ?, ?, ?)');
    for (const i of issues) ins.run(datasetId, i.rel, i.kind, i.reason);
    db.prepare("UPDATE datasets SET scan_state = 'complete', scanned_at = ?, updated_at = ? WHERE id = ?").run(nowIso(), nowIso(), datasetId);
    // What this complete scan saw, for the next one (kept as is when nothing changed).
    if (!snapshotCurrent || regroup) saveSnapshot(db, datasetId);
  })();
  progress('done', true);
  const summary = summarizeDataset(db, datasetId);
  return {
    ...summary,
    added,
    removed,
    changed,
    unchanged,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
}

/**
 * Gives every `pending` image of the dataset its split. Per class, the target number of val images is
 * round(n * valFraction) over the class's auto-split images; files that already have a split keep it, and
 * the pending ones, ranked by their seeded score, fill the val places still open.
 */
export function assignPendingSplits(db: Db, datasetId: number, valFraction: number, seed: string): void {
  const pending = db
    .prepare("SELECT id, rel_path, class_id FROM images WHERE dataset_id = ? AND split_source = 'pending'")
    .raw()
    .all(datasetId) as [number, string, number][];
  if (pending.length === 0) return;
  const counts = new Map<number, { n: number; val: number }>();
  for (const r of db
    .prepare(
      "SELECT class_id, COUNT(*), SUM(split = 'val') FROM images WHERE dataset_id = ? AND split_source IN ('auto', 'pending') GROUP BY class_id",
    )
    .raw()
    .all(datasetId) as [number, number, number][]) {
    counts.set(r[0], { n: r[1], val: 0 });
  }
  for (const r of db
    .prepare("SELECT class_id, COUNT(*) FROM images WHERE dataset_id = ? AND split_source = 'auto' AND split = 'val' GROUP BY class_id")
    .raw()
    .all(datasetId) as [number, number][]) {
    counts.get(r[0])!.val = r[1];
  }
  const byClass = new Map<number, { id: number; score: number; rel: string }[]>();
  for (const [id, rel, cid] of pending) {
    let list = byClass.get(cid);
    if (!list) byClass.set(cid, (list = []));
    list.push({ id, score: splitScore(seed, rel), rel });
  }
  // Only the val picks are written one by one; the rest become train in two set-wise statements (the one
  // that only flips split_source touches no index).
  const toVal = db.prepare("UPDATE images SET split = 'val', split_source = 'auto' WHERE id = ?");
  for (const [cid, list] of byClass) {
    const c = counts.get(cid)!;
    const target = Math.round(c.n * valFraction);
    let open = Math.max(0, target - c.val);
    if (open === 0) continue;
    list.sort((a, b) => a.score - b.score || (a.rel < b.rel ? -1 : 1));
    for (const item of list) {
      if (open-- <= 0) break;
      toVal.run(item.id);
    }
  }
  db.prepare("UPDATE images SET split_source = 'auto' WHERE dataset_id = ? AND split_source = 'pending' AND split = 'train'").run(datasetId);
  db.prepare("UPDATE images SET split = 'train', split_source = 'auto' WHERE dataset_id = ? AND split_source = 'pending'").run(datasetId);
}

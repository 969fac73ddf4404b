/**
 * The scan: walks a dataset folder (or reads a CSV manifest), reads each new or changed file once (content
 * hash + header probe + structural check, no pixel decoding), and records it in SQLite in batched
 * transactions. Unchanged files (same size and mtime) are not re-read. A scan killed midway leaves every
 * committed row valid and the dataset marked `scanning`; the next scan completes it.
 *
 * The parts: walk.ts (the folder tree) or manifest.ts (the CSV) give the candidate files; scan-pass.ts compares
 * them with what the index knows (snapshot.ts, and the native folder diff of fast-walk.ts), has the new and
 * changed ones read (scan-reader.ts) and written (scan-repository.ts, the scan's SQL); splits.ts gives the
 * seeded split.
 */
import { statSync, type Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AppError } from '../core/errors';
import type { Db } from '../db/connection';
import { fastWalkAddon, SnapshotDiff } from './fast-walk';
import { checkManifest, manifestCandidates } from './manifest';
import { acquireScanLock } from './scan-lock';
import { ScanPass } from './scan-pass';
import { defaultWorkers, ScanReader } from './scan-reader';
import { datasetNameAt, openScanDataset, ScanWriter } from './scan-repository';
import { knownImage, loadKnown, readSnapshot, type KnownImage } from './snapshot';
import { summarizeDataset, type DatasetSummary } from './summary';
import { detectLayout, walkTree, type FolderDiff } from './walk';

// What this file exported before its parts moved out.
export { IMAGE_EXTENSIONS } from './candidates';
export { defaultWorkers } from './scan-reader';
export { assignPendingSplits } from './scan-repository';
export { splitScore } from './splits';

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

/**
 * Scans a dataset folder (see the file comment). One scan of a folder runs at a time (./scan-lock.ts): a second
 * one is refused at once with AppError 'conflict' naming the process that holds it.
 */
export async function scanDataset(db: Db, opts: ScanOptions): Promise<ScanResult> {
  const root = resolve(opts.root);
  const lock = acquireScanLock(db, root, opts.name ?? datasetNameAt(db, root) ?? basename(root));
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
  const datasetId = openScanDataset(db, { root, name: opts.name, manifest, layout, valFraction, seed });

  // What the database already knows, to skip unchanged files and find removed ones.
  // With the native folder diff, rows enter `known` only as the walk needs them (see SnapshotDiff).
  const known = new Map<string, KnownImage>();
  const snap = readSnapshot(db, datasetId);
  const snapDiff = snap && !manifest ? SnapshotDiff.open(snap) : undefined;
  // A snapshot the diff cannot use (written by an older version, not grouped by folder) is written anew at the end.
  const regroup = snap !== undefined && !manifest && !snapDiff && fastWalkAddon() !== undefined;
  if (!snapDiff) for (const r of loadKnown(db, datasetId, snap).rows) known.set(r[0], knownImage(r));

  const writer = new ScanWriter(db, datasetId);
  const reader = new ScanReader(opts.workers ?? defaultWorkers(), opts.inlineBelow, opts.poolMinBytes);
  const { signal, onProgress, afterBatch } = opts;
  const pass = new ScanPass({ writer, reader, known, batchSize: opts.batchSize ?? 256, signal, onProgress, afterBatch });
  const folderDiff: FolderDiff | undefined =
    snapDiff &&
    ((dir, prefix, where) =>
      snapDiff.folder(dir, prefix, typeof where === 'string' ? undefined : { classId: writer.existingClassId(where.cls), split: where.split, source: where.source }, known));
  await pass.run(
    manifest ? manifestCandidates(root, manifest, pass.issues) : walkTree(root, layout === 'splits' ? 'splits' : 'folders', pass.issues, signal, folderDiff),
  );

  // Removed files, empty classes, the seeded split of new files, the issue list: one transaction.
  snapDiff?.handOverRest(known);
  const removedIds = [...known.values()].map((k) => k.id);
  writer.finish({ removedIds, issues: pass.issues, valFraction, seed, regroup });
  pass.progress('done', true);
  const { added, removed, changed, unchanged } = pass.counts;
  return {
    ...summarizeDataset(db, datasetId),
    added,
    removed: removed + removedIds.length,
    changed,
    unchanged,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
}

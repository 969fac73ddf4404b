/**
 * The datasets part of the database: rows turned into camelCase records, and the functions other features
 * (training, export, preview, the UI) read a dataset through.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { AppError } from '../core/errors';
import type { Db } from '../db/connection';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface DatasetInfo {
  id: number;
  name: string;
  /** Absolute folder the dataset was indexed from; image paths are relative to it. */
  root: string;
  manifest: string | null;
  layout: 'folders' | 'splits' | 'manifest';
  valFraction: number;
  seed: string;
  /** `scanning` while a scan runs or after one was killed midway; the next scan completes it. */
  scanState: 'scanning' | 'complete';
  createdAt: string;
  updatedAt: string;
  scannedAt: string | null;
}

export interface ClassInfo {
  id: number;
  name: string;
  /** Stable 0-based label index: the position of the class in name order. */
  index: number;
}

export interface UsableImage {
  id: number;
  /** Absolute path of the file. */
  path: string;
  relPath: string;
  classIndex: number;
  className: string;
  split: Split;
  width: number;
  height: number;
  channels: number;
  format: string;
  hash: string;
}

interface DatasetRow {
  id: number;
  name: string;
  root: string;
  manifest: string | null;
  layout: DatasetInfo['layout'];
  val_fraction: number;
  seed: string;
  scan_state: DatasetInfo['scanState'];
  created_at: string;
  updated_at: string;
  scanned_at: string | null;
}

function toDatasetInfo(r: DatasetRow): DatasetInfo {
  return {
    id: r.id,
    name: r.name,
    root: r.root,
    manifest: r.manifest,
    layout: r.layout,
    valFraction: r.val_fraction,
    seed: r.seed,
    scanState: r.scan_state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    scannedAt: r.scanned_at,
  };
}

export function findDataset(db: Db, nameOrId: string | number): DatasetInfo | undefined {
  let row: DatasetRow | undefined;
  if (typeof nameOrId === 'number') {
    row = db.prepare('SELECT * FROM datasets WHERE id = ?').get(nameOrId) as DatasetRow | undefined;
  } else {
    row = db.prepare('SELECT * FROM datasets WHERE name = ?').get(nameOrId) as DatasetRow | undefined;
    // A name wins over an id; a string of digits is an id when no dataset bears that name.
    if (!row && /^\d+$/.test(nameOrId.trim())) {
      row = db.prepare('SELECT * FROM datasets WHERE id = ?').get(Number(nameOrId)) as DatasetRow | undefined;
    }
  }
  return row ? toDatasetInfo(row) : undefined;
}

/** The dataset by name or id; AppError 'not-found' naming what was asked for. */
export function resolveDataset(db: Db, nameOrId: string | number): DatasetInfo {
  const found = findDataset(db, nameOrId);
  if (!found) {
    const names = (db.prepare('SELECT name FROM datasets ORDER BY name').pluck().all() as string[]).slice(0, 20);
    const hint = names.length ? ` (known: ${names.join(', ')})` : ' (no dataset indexed yet: run `mixup-studio index DIR`)';
    throw new AppError('not-found', `no dataset '${nameOrId}'${hint}`);
  }
  return found;
}

/** Every class of the dataset in name order; `index` is the label index training and export use. */
export function listClasses(db: Db, datasetId: number): ClassInfo[] {
  const rows = db.prepare('SELECT id, name FROM classes WHERE dataset_id = ? ORDER BY name').all(datasetId) as {
    id: number;
    name: string;
  }[];
  return rows.map((r, index) => ({ id: r.id, name: r.name, index }));
}

/** Absolute path of an image row (relative paths are under the dataset root; manifests may give absolute ones). */
export function imagePath(root: string, relPath: string): string {
  return isAbsolute(relPath) ? relPath : join(root, relPath);
}

/**
 * The one spelling of "a usable image" (decodes, not excluded) as SQL, for the images table under `alias`. The
 * counts, the gallery filter, the training list, the fingerprint and the duplicate groups all use it, so they
 * cannot disagree on what a run trains on.
 */
export function usableSql(alias = ''): string {
  const p = alias ? `${alias}.` : '';
  return `${p}status = 'ok' AND ${p}excluded_reason IS NULL`;
}

/** Usable images (not corrupt, not excluded), ordered by relative path; optionally one split. */
export function listUsableImages(db: Db, datasetId: number, opts: { split?: Split } = {}): UsableImage[] {
  const ds = resolveDataset(db, datasetId);
  const classes = listClasses(db, datasetId);
  const indexById = new Map(classes.map((c) => [c.id, c]));
  const sql = `SELECT id, rel_path, class_id, split, width, height, channels, format, hash FROM images
    WHERE dataset_id = ? AND ${usableSql()} ${opts.split ? 'AND split = ?' : ''}
    ORDER BY rel_path`;
  const params: unknown[] = opts.split ? [datasetId, opts.split] : [datasetId];
  const rows = db.prepare(sql).all(...params) as {
    id: number;
    rel_path: string;
    class_id: number;
    split: Split;
    width: number;
    height: number;
    channels: number;
    format: string;
    hash: string;
  }[];
  return rows.map((r) => {
    const cls = indexById.get(r.class_id)!;
    return {
      id: r.id,
      path: imagePath(ds.root, r.rel_path),
      relPath: r.rel_path,
      classIndex: cls.index,
      className: cls.name,
      split: r.split,
      width: r.width,
      height: r.height,
      channels: r.channels,
      format: r.format,
      hash: r.hash,
    };
  });
}

/**
 * Marks an image corrupt with the reason (e.g. when training fails to decode it). It is then left out of
 * `listUsableImages`; the next scan re-reads it only if the file changed. Only for a verdict on the image's
 * content: a file that could not be read is not corrupt.
 */
export function markCorrupt(db: Db, imageId: number, reason: string): void {
  if (!markCorruptIfPresent(db, imageId, reason)) throw new AppError('not-found', `no image with id ${imageId}`);
}

/**
 * markCorrupt for a row that may be gone: a training works on the file list of its start, and a rescan may
 * have removed the row since (nothing is left to mark, which is no error). Returns whether a row was marked.
 */
export function markCorruptIfPresent(db: Db, imageId: number, reason: string): boolean {
  const res = db
    .prepare("UPDATE images SET status = 'corrupt', reason = ?, verified = 1 WHERE id = ?")
    .run(reason || 'failed to decode', imageId);
  return res.changes > 0;
}

/**
 * A hash of what a run trains on: the sorted usable file list with class, split and content hash, plus the
 * class list. Any curation, rescan change or split change gives a different fingerprint.
 */
export function datasetFingerprint(db: Db, datasetId: number): string {
  const h = createHash('sha256');
  for (const c of listClasses(db, datasetId)) h.update(`class\t${c.index}\t${c.name}\n`);
  const stmt = db.prepare(
    `SELECT i.rel_path, c.name, i.split, i.hash FROM images i JOIN classes c ON c.id = i.class_id
     WHERE i.dataset_id = ? AND ${usableSql('i')} ORDER BY i.rel_path`,
  );
  for (const r of stmt.raw().iterate(datasetId) as IterableIterator<[string, string, string, string]>) {
    h.update(`${r[0]}\t${r[1]}\t${r[2]}\t${r[3]}\n`);
  }
  return h.digest('hex');
}

/** What the user's curation changed in the dataset: usable images relabelled, images excluded. */
export function curationCounts(db: Db, datasetId: number): { relabelled: number; excluded: number } {
  const relabelled = db
    .prepare(`SELECT COUNT(*) FROM images INDEXED BY images_relabelled WHERE dataset_id = ? AND given_class_id IS NOT NULL AND ${usableSql()}`)
    .pluck()
    .get(datasetId) as number;
  const excluded = db
    .prepare("SELECT COUNT(*) FROM images INDEXED BY images_excluded WHERE dataset_id = ? AND excluded_reason IS NOT NULL AND status = 'ok'")
    .pluck()
    .get(datasetId) as number;
  return { relabelled, excluded };
}

/** One image row, with its dataset's root, for media and curation. */
export interface ImageRecord {
  id: number;
  datasetId: number;
  relPath: string;
  path: string;
  className: string;
  split: Split;
  bytes: number;
  hash: string | null;
  format: string | null;
  width: number | null;
  height: number | null;
  channels: number | null;
  status: 'ok' | 'corrupt';
  reason: string | null;
  excludedReason: string | null;
  verified: boolean;
  thumb: string | null;
}

export function getImage(db: Db, imageId: number): ImageRecord {
  const r = db
    .prepare(
      `SELECT i.*, c.name AS class_name, d.root AS root FROM images i
       JOIN classes c ON c.id = i.class_id JOIN datasets d ON d.id = i.dataset_id WHERE i.id = ?`,
    )
    .get(imageId) as Record<string, any> | undefined;
  if (!r) throw new AppError('not-found', `no image with id ${imageId}`);
  return {
    id: r.id,
    datasetId: r.dataset_id,
    relPath: r.rel_path,
    path: imagePath(r.root, r.rel_path),
    className: r.class_name,
    split: r.split,
    bytes: r.bytes,
    hash: r.hash,
    format: r.format,
    width: r.width,
    height: r.height,
    channels: r.channels,
    status: r.status,
    reason: r.reason,
    excludedReason: r.excluded_reason,
    verified: r.verified === 1,
    thumb: r.thumb,
  };
}

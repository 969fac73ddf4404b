/**
 * The scan snapshot: what the last complete scan of a dataset saw, packed into one row of `scan_snapshots`
 * (migration 0006) so that a rescan reads one row instead of materialising every image row. Paths are one
 * UTF-8 blob separated by NUL (the one character no file name holds); the numbers are one Float64Array blob,
 * five per image: id, bytes, mtime (ms, exact as stored), class id, split code. Triggers delete the snapshot
 * whenever an image is inserted or deleted or one of these fields changes, so a snapshot that exists is
 * current; without one, the scan reads the rows as before and the next complete scan writes a new one.
 * Rows are grouped by folder (all of a folder's rows together), so that the native folder diff
 * (fast-walk.ts) can hand one folder's slice of the blobs to one call.
 */
import type { Db } from '../db/connection';
import type { Split } from './repository';

export type SplitSource = 'folder' | 'manifest' | 'auto' | 'pending';
/**
 * An indexed image as the snapshot's codec and the table's raw rows hold it: [relPath, id, bytes, mtimeMs,
 * classId, split, splitSource]. The scan reads it by name (KnownImage).
 */
export type Known = [string, number, number, number, number, Split, SplitSource];

/** An indexed image as the scan compares it with the file it meets. */
export interface KnownImage {
  rel: string;
  id: number;
  bytes: number;
  mtimeMs: number;
  classId: number;
  split: Split;
  source: SplitSource;
}

export function knownImage(r: Known): KnownImage {
  return { rel: r[0], id: r[1], bytes: r[2], mtimeMs: r[3], classId: r[4], split: r[5], source: r[6] };
}

const SPLITS: readonly Split[] = ['train', 'val', 'test'];
const SOURCES: readonly SplitSource[] = ['folder', 'manifest', 'auto', 'pending'];
/** Numbers per row in `nums`: id, bytes, mtime, class id, split code. */
export const PER_ROW = 5;
// The class is the one the folder or manifest gives (given_class_id for a relabelled image), which the scan compares.
const ROWS_SQL = 'SELECT rel_path, id, bytes, mtime_ms, COALESCE(given_class_id, class_id), split, split_source FROM images WHERE dataset_id = ?';

/** A snapshot as stored: `count` rows, their paths (NUL-separated UTF-8) and five numbers per row. */
export interface Snapshot {
  count: number;
  rels: Buffer;
  nums: Float64Array;
}

/** The dataset's current snapshot, undecoded, or undefined when there is none or it is not well formed. */
export function readSnapshot(db: Db, datasetId: number): Snapshot | undefined {
  const snap = db.prepare('SELECT rows, rels, nums FROM scan_snapshots WHERE dataset_id = ?').raw().get(datasetId) as
    | [number, Buffer, Buffer]
    | undefined;
  return snap ? snapshotOf(snap[0], snap[1], snap[2]) : undefined;
}

/** A snapshot from its stored columns, or undefined when the numbers do not fit the row count. */
export function snapshotOf(count: number, rels: Buffer, numsBlob: Buffer): Snapshot | undefined {
  if (numsBlob.byteLength !== count * PER_ROW * 8) return undefined;
  // Copied into an aligned buffer: a blob's bytes may start anywhere.
  const nums = new Float64Array(count * PER_ROW);
  new Uint8Array(nums.buffer).set(numsBlob);
  return { count, rels, nums };
}

/** The dataset's indexed images, from its snapshot when there is a current one, else from the rows. */
export function loadKnown(db: Db, datasetId: number, snap = readSnapshot(db, datasetId)): { rows: Known[]; fromSnapshot: boolean } {
  const decoded = snap ? decodeSnapshot(snap) : undefined;
  if (decoded) return { rows: decoded, fromSnapshot: true };
  return { rows: db.prepare(ROWS_SQL).raw().all(datasetId) as Known[], fromSnapshot: false };
}

/** Whether the dataset has a current snapshot (the triggers delete it on any change to what it holds). */
export function hasSnapshot(db: Db, datasetId: number): boolean {
  return db.prepare('SELECT 1 FROM scan_snapshots WHERE dataset_id = ?').get(datasetId) !== undefined;
}

/**
 * Writes the dataset's snapshot from its rows (at the end of a complete scan, when there is no current one, or
 * when the one there was not grouped by folder).
 */
export function saveSnapshot(db: Db, datasetId: number): void {
  const rows = db.prepare(ROWS_SQL).raw().all(datasetId) as Known[];
  const { rels, nums } = encodeSnapshot(rows);
  db.prepare('INSERT OR REPLACE INTO scan_snapshots (dataset_id, rows, rels, nums) VALUES (?, ?, ?, ?)').run(datasetId, rows.length, rels, nums);
}

/** Rows in folder groups: each folder's rows together, folders in order of first appearance. */
function groupByFolder(rows: readonly Known[]): Known[] {
  const byFolder = new Map<string, Known[]>();
  for (const r of rows) {
    const folder = r[0].slice(0, Math.max(0, r[0].lastIndexOf('/')));
    const list = byFolder.get(folder);
    if (list) list.push(r);
    else byFolder.set(folder, [r]);
  }
  return byFolder.size === 1 ? [...rows] : [...byFolder.values()].flat();
}

export function encodeSnapshot(unordered: readonly Known[]): { rels: Buffer; nums: Buffer } {
  const rows = groupByFolder(unordered);
  const nums = new Float64Array(rows.length * PER_ROW);
  const rels: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    rels[i] = r[0];
    const o = i * PER_ROW;
    nums[o] = r[1];
    nums[o + 1] = r[2];
    nums[o + 2] = r[3];
    nums[o + 3] = r[4];
    nums[o + 4] = SPLITS.indexOf(r[5]) + SPLITS.length * SOURCES.indexOf(r[6]);
  }
  return { rels: Buffer.from(rels.join('\0'), 'utf8'), nums: Buffer.from(nums.buffer) };
}

/** The rows of a snapshot, or undefined when it is not well formed (then the caller reads the table). */
export function decodeSnapshot(snap: Snapshot): Known[] | undefined {
  const rels = snap.count === 0 ? [] : snap.rels.toString('utf8').split('\0');
  if (rels.length !== snap.count) return undefined;
  const rows: Known[] = new Array(rels.length);
  for (let i = 0; i < rels.length; i++) {
    const row = knownRow(snap.nums, i, rels[i]);
    if (!row) return undefined;
    rows[i] = row;
  }
  return rows;
}

/** Row `row` of a snapshot's numbers, with its relative path; undefined when its split code is not one. */
export function knownRow(nums: Float64Array, row: number, rel: string): Known | undefined {
  const o = row * PER_ROW;
  const split = splitOfCode(nums[o + 4]);
  return split && [rel, nums[o], nums[o + 1], nums[o + 2], nums[o + 3], split[0], split[1]];
}

/** Whether `code` is a split code (what `splitOfCode` reads), without building the pair. */
export const isSplitCode = (code: number): boolean => Number.isInteger(code) && code >= 0 && code < SPLITS.length * SOURCES.length;

/** The split and source of a snapshot row's split code. */
export function splitOfCode(code: number): [Split, SplitSource] | undefined {
  const split = SPLITS[code % SPLITS.length];
  const source = SOURCES[Math.floor(code / SPLITS.length)];
  return split === undefined || source === undefined ? undefined : [split, source];
}

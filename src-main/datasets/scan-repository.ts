/**
 * The scan's SQL: the dataset row a scan indexes into, the image and class rows it writes batch by batch, and
 * the closing transaction (removed files, empty classes, the seeded split, the issue list, the snapshot).
 */
import { basename } from 'node:path';
import { AppError } from '../core/errors';
import type { Db } from '../db/connection';
import type { Issue } from './candidates';
import type { FileReport } from './read-file';
import { findDataset, type DatasetInfo, type Split } from './repository';
import { hasSnapshot, saveSnapshot, type SplitSource } from './snapshot';
import { pickVal, type PendingImage, type SplitCounts } from './splits';

function nowIso(): string {
  return new Date().toISOString();
}

/** The name of the (first) dataset indexed from `root`, if any. */
export function datasetNameAt(db: Db, root: string): string | undefined {
  return db.prepare('SELECT name FROM datasets WHERE root = ? ORDER BY id LIMIT 1').pluck().get(root) as string | undefined;
}

export interface ScanTarget {
  /** Absolute folder. */
  root: string;
  /** --name, if given. */
  name?: string;
  /** Absolute manifest file, if any. */
  manifest?: string;
  layout: DatasetInfo['layout'];
  valFraction: number;
  seed: string;
}

/**
 * The id of the dataset row the scan indexes into, marked `scanning`: by --name, else by the folder (same
 * root), else a new one named after the folder. When the val fraction or the seed changed, the images of the
 * seeded split are pending again. AppError 'conflict' when the name belongs to another folder.
 */
export function openScanDataset(db: Db, t: ScanTarget): number {
  const { root, manifest, layout, valFraction, seed } = t;
  let ds = t.name ? findDataset(db, t.name) : undefined;
  if (ds && ds.root !== root) {
    throw new AppError('conflict', `dataset '${ds.name}' is indexed from ${ds.root}, not ${root}; choose another --name`);
  }
  if (!ds && !t.name) {
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
    const name = t.name ?? basename(root);
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
  return datasetId;
}

const IMAGE_COLUMNS = '(dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels, status, reason)';
const IMAGE_VALUES = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
/** Values per image row in IMAGE_COLUMNS. */
const PER_IMAGE = 14;
/** New rows go in ROWS_PER_INSERT at a time: one statement step per 32 rows instead of per row. */
const ROWS_PER_INSERT = 32;

/** The columns a file's read gives its row: hash, format, width, height, channels, status, reason. */
function readColumns(r: FileReport): unknown[] {
  return r.ok ? [r.hash, r.format, r.width, r.height, r.channels, 'ok', null] : [r.hash, r.format ?? null, null, null, null, 'corrupt', r.reason];
}

/**
 * SET clause for the class a scan found (bound once as @cls — see folderClass): class_id when the image is not
 * relabelled, given_class_id when it is (cleared when the folder now says what the relabel said).
 */
const FOLDER_CLASS = `given_class_id = CASE WHEN given_class_id IS NULL OR class_id = @cls THEN NULL ELSE @cls END,
  class_id = CASE WHEN given_class_id IS NULL THEN @cls ELSE class_id END`;

/** The statements a scan writes its image and class rows with. */
function scanStatements(db: Db) {
  return {
    insertClass: db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)'),
    insertImage: db.prepare(`INSERT INTO images ${IMAGE_COLUMNS} VALUES ${IMAGE_VALUES}`),
    insertMany: db.prepare(`INSERT INTO images ${IMAGE_COLUMNS} VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => IMAGE_VALUES).join(', ')}`),
    // The folder's class goes to given_class_id when the user relabelled the image (class_id keeps the
    // correction); a folder class that now equals the correction ends the relabel.
    updateImage: db.prepare(
      `UPDATE images SET ${FOLDER_CLASS}, split = ?, split_source = ?, bytes = ?, mtime_ms = ?, hash = ?, format = ?, width = ?, height = ?,
         channels = ?, status = ?, reason = ?, verified = 0, thumb = NULL WHERE id = ?`,
    ),
    relabelImage: db.prepare(`UPDATE images SET ${FOLDER_CLASS}, split = ?, split_source = ? WHERE id = ?`),
    deleteImage: db.prepare('DELETE FROM images WHERE id = ?'),
  };
}

/** The image and class rows of one scan of one dataset. */
export class ScanWriter {
  private readonly classIds = new Map<string, number>();
  private readonly sql: ReturnType<typeof scanStatements>;
  private readonly inTransaction: (write: () => void) => void;
  /** Values of the new rows of this batch not inserted yet. */
  private pending: unknown[] = [];
  private pendingCount = 0;

  constructor(
    private readonly db: Db,
    private readonly datasetId: number,
  ) {
    for (const r of db.prepare('SELECT name, id FROM classes WHERE dataset_id = ?').raw().all(datasetId) as [string, number][]) this.classIds.set(r[0], r[1]);
    const sql = (this.sql = scanStatements(db));
    this.inTransaction = db.transaction((write: () => void) => {
      this.pending = [];
      this.pendingCount = 0;
      write();
      for (let k = 0; k < this.pending.length; k += PER_IMAGE) sql.insertImage.run(this.pending.slice(k, k + PER_IMAGE));
    });
  }

  /** The id of the class, if it exists already. */
  existingClassId(name: string): number | undefined {
    return this.classIds.get(name);
  }

  /** The id of the class, created when new. */
  classId(name: string): number {
    let id = this.classIds.get(name);
    if (id === undefined) {
      id = Number(this.sql.insertClass.run(this.datasetId, name).lastInsertRowid);
      this.classIds.set(name, id);
    }
    return id;
  }

  /** Runs `write` (the calls below) in one transaction. */
  batch(write: () => void): void {
    this.inTransaction(write);
  }

  /** A new image row from its read. */
  insert(rel: string, classId: number, split: Split, source: SplitSource, r: FileReport): void {
    this.pending.push(this.datasetId, rel, classId, split, source, r.size, r.mtimeMs, ...readColumns(r));
    if (++this.pendingCount === ROWS_PER_INSERT) {
      this.sql.insertMany.run(this.pending);
      this.pending = [];
      this.pendingCount = 0;
    }
  }

  /** A changed file's row, from its new read (to be verified again). */
  update(id: number, classId: number, split: Split, source: SplitSource, r: FileReport): void {
    this.sql.updateImage.run({ cls: classId }, split, source, r.size, r.mtimeMs, ...readColumns(r), id);
  }

  /** An unchanged file's new class or split. */
  relabel(id: number, classId: number, split: Split, source: SplitSource): void {
    this.sql.relabelImage.run({ cls: classId }, split, source, id);
  }

  remove(id: number): void {
    this.sql.deleteImage.run(id);
  }

  /**
   * The closing transaction: removes the rows of the files not found and the classes left empty, gives the
   * pending images their seeded split, stores the issue list, marks the scan complete and writes the snapshot.
   */
  finish(p: { removedIds: readonly number[]; issues: readonly Issue[]; valFraction: number; seed: string; regroup: boolean }): void {
    const { db, datasetId } = this;
    db.transaction(() => {
      for (const id of p.removedIds) this.sql.deleteImage.run(id);
      // A class survives while an image is in it, or was relabelled out of it (the relabel can be undone).
      db.prepare(
        `DELETE FROM classes WHERE dataset_id = ? AND id NOT IN (SELECT DISTINCT class_id FROM images WHERE dataset_id = ?)
           AND id NOT IN (SELECT given_class_id FROM images INDEXED BY images_relabelled WHERE dataset_id = ? AND given_class_id IS NOT NULL)`,
      ).run(datasetId, datasetId, datasetId);
      // A snapshot that is still current here means the last scan completed (leaving nothing pending) and no
      // image row has been written since, this scan included: nothing to assign, and no table scan to learn that.
      const snapshotCurrent = hasSnapshot(db, datasetId);
      if (!snapshotCurrent) assignPendingSplits(db, datasetId, p.valFraction, p.seed);
      db.prepare('DELETE FROM scan_issues WHERE dataset_id = ?').run(datasetId);
      const ins = db.prepare('INSERT INTO scan_issues (dataset_id, rel_path, kind, reason) VALUES (?, ?, ?, ?)');
      for (const i of p.issues) ins.run(datasetId, i.rel, i.kind, i.reason);
      db.prepare("UPDATE datasets SET scan_state = 'complete', scanned_at = ?, updated_at = ? WHERE id = ?").run(nowIso(), nowIso(), datasetId);
      // What this complete scan saw, for the next one (kept as is when nothing changed; rewritten when regrouped).
      if (!snapshotCurrent || p.regroup) saveSnapshot(db, datasetId);
    })();
  }
}

/**
 * Gives every `pending` image of the dataset its split (splits.ts picks the val ones). Only the val picks are
 * written one by one; the rest become train in two set-wise statements (the one that only flips split_source
 * touches no index).
 */
export function assignPendingSplits(db: Db, datasetId: number, valFraction: number, seed: string): void {
  const pending = (
    db.prepare("SELECT id, rel_path, class_id FROM images WHERE dataset_id = ? AND split_source = 'pending'").raw().all(datasetId) as [number, string, number][]
  ).map(([id, rel, classId]): PendingImage => ({ id, rel, classId }));
  if (pending.length === 0) return;
  const counts: SplitCounts = new Map();
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
  const toVal = db.prepare("UPDATE images SET split = 'val', split_source = 'auto' WHERE id = ?");
  for (const id of pickVal(pending, counts, valFraction, seed)) toVal.run(id);
  db.prepare("UPDATE images SET split_source = 'auto' WHERE dataset_id = ? AND split_source = 'pending' AND split = 'train'").run(datasetId);
  db.prepare("UPDATE images SET split = 'train', split_source = 'auto' WHERE dataset_id = ? AND split_source = 'pending'").run(datasetId);
}

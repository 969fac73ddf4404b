/**
 * The dataset catalogue as the screens and the CLI read and curate it: every dataset with its counts, one
 * gallery page of images, and excluding or including images. Owns its SQL; every count and page comes from an
 * index (test/db/query-plans.test.ts runs EXPLAIN on these very statements).
 */
import { isAbsolute, relative, sep } from 'node:path';
import { AppError } from '../core/errors';
import type { Db } from '../db/connection';
import { usableSql, type DatasetInfo } from './repository';

export interface DatasetListItem {
  id: number;
  name: string;
  root: string;
  images: number;
  classes: number;
  corrupt: number;
  excluded: number;
  createdAt: string;
  updatedAt: string;
  /** Every non-corrupt image has been decoded by the verify pass. */
  verified: boolean;
  unverified: number;
  scanState: 'scanning' | 'complete';
}

export interface GalleryItem {
  id: number;
  path: string;
  class: string;
  split: 'train' | 'val' | 'test';
  width: number | null;
  height: number | null;
  channels: number | null;
  format: string | null;
  status: 'ok' | 'corrupt';
  reason: string | null;
  excludedReason: string | null;
  verified: boolean;
}

export interface ImagesFilter {
  class?: string;
  split?: 'train' | 'val' | 'test';
  status?: 'usable' | 'corrupt' | 'excluded' | 'unverified';
  offset: number;
  limit: number;
  /** Count the matching images (a full index scan: 80 ms at 1,000,000); pages after the first can skip it. */
  withTotal: boolean;
}

/** The per-dataset counts of `datasets:list`, each answered by an index (partial ones for the few rows). */
export const DATASET_COUNT_SQL = {
  all: 'SELECT COUNT(*) FROM images WHERE dataset_id = ?',
  corrupt: "SELECT COUNT(*) FROM images WHERE dataset_id = ? AND status = 'corrupt'",
  excluded: "SELECT COUNT(*) FROM images WHERE dataset_id = ? AND excluded_reason IS NOT NULL AND status = 'ok'",
  unverified: "SELECT COUNT(*) FROM images WHERE dataset_id = ? AND verified = 0 AND status = 'ok'",
  classes: 'SELECT COUNT(*) FROM classes WHERE dataset_id = ?',
} as const;

/** Every dataset of the home with its counts, by name. No pass over a million-image table. */
export function listDatasetItems(db: Db): DatasetListItem[] {
  const rows = db.prepare('SELECT * FROM datasets ORDER BY name').all() as Record<string, any>[];
  const allRows = db.prepare(DATASET_COUNT_SQL.all).pluck();
  const corruptRows = db.prepare(DATASET_COUNT_SQL.corrupt).pluck();
  const excludedRows = db.prepare(DATASET_COUNT_SQL.excluded).pluck();
  const unverifiedRows = db.prepare(DATASET_COUNT_SQL.unverified).pluck();
  const classCount = db.prepare(DATASET_COUNT_SQL.classes).pluck();
  return rows.map((r) => {
    const corrupt = corruptRows.get(r.id) as number;
    const excluded = excludedRows.get(r.id) as number;
    const unverified = unverifiedRows.get(r.id) as number;
    const images = (allRows.get(r.id) as number) - corrupt - excluded;
    return {
      id: r.id,
      name: r.name,
      root: r.root,
      images,
      classes: classCount.get(r.id) as number,
      corrupt,
      excluded,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      verified: unverified === 0,
      unverified,
      scanState: r.scan_state,
    };
  });
}

/**
 * The statements of one gallery page for a filter: the count and the page (whose ids come from an index alone,
 * with no row reads while skipping the offset). Named parameters: @ds, @cid, @split, @limit, @offset.
 */
export function imagesPageSql(filter: { class?: unknown; split?: unknown; status?: ImagesFilter['status'] }): { count: string; page: string } {
  const where = ['dataset_id = @ds'];
  if (filter.class !== undefined) where.push('class_id = @cid');
  if (filter.split) where.push('split = @split');
  if (filter.status === 'usable') where.push(usableSql());
  else if (filter.status === 'corrupt') where.push("status = 'corrupt'");
  else if (filter.status === 'excluded') where.push('excluded_reason IS NOT NULL');
  else if (filter.status === 'unverified') where.push("verified = 0 AND status = 'ok'");
  const w = where.join(' AND ');
  return {
    count: `SELECT COUNT(*) FROM images WHERE ${w}`,
    page: `SELECT i.id, i.rel_path, c.name AS class, i.split, i.width, i.height, i.channels, i.format, i.status, i.reason,
                  i.excluded_reason, i.verified
           FROM images i JOIN classes c ON c.id = i.class_id
           WHERE i.id IN (SELECT id FROM images WHERE ${w} ORDER BY id LIMIT @limit OFFSET @offset)
           ORDER BY i.id`,
  };
}

/** One page of a dataset's images (the gallery), optionally of one class, split or status. */
export function imagesPage(db: Db, ds: DatasetInfo, filter: ImagesFilter): { total: number | null; items: GalleryItem[] } {
  const params: Record<string, unknown> = { ds: ds.id, limit: filter.limit, offset: filter.offset };
  if (filter.class !== undefined) {
    const cid = db.prepare('SELECT id FROM classes WHERE dataset_id = ? AND name = ?').pluck().get(ds.id, filter.class);
    if (cid === undefined) throw new AppError('not-found', `dataset '${ds.name}' has no class '${filter.class}'`);
    params.cid = cid;
  }
  if (filter.split) params.split = filter.split;
  const sql = imagesPageSql(filter);
  const total = filter.withTotal ? (db.prepare(sql.count).pluck().get(params) as number) : null;
  const rows = db.prepare(sql.page).all(params) as Record<string, any>[];
  return {
    total,
    items: rows.map((r) => ({
      id: r.id,
      path: r.rel_path,
      class: r.class,
      split: r.split,
      width: r.width,
      height: r.height,
      channels: r.channels,
      format: r.format,
      status: r.status,
      reason: r.reason,
      excludedReason: r.excluded_reason,
      verified: r.verified === 1,
    })),
  };
}

/** Turns user paths (relative to the root, or absolute inside it) into the stored relative paths. */
function toRelPaths(root: string, paths: string[]): string[] {
  return paths.map((p) => {
    if (!isAbsolute(p)) return p.split(sep).join('/').replace(/^\.\//, '');
    const rel = relative(root, p);
    return rel.startsWith('..') ? p : rel.split(sep).join('/');
  });
}

/** The image ids of user paths (relative to the root, or absolute inside it); refused naming the paths not in the dataset. */
export function idsForPaths(db: Db, datasetId: number, root: string, paths: string[]): number[] {
  const get = db.prepare('SELECT id FROM images WHERE dataset_id = ? AND rel_path = ?').pluck();
  const rels = toRelPaths(root, paths);
  const missing: string[] = [];
  const ids = rels.map((rel, i) => {
    const id = get.get(datasetId, rel) as number | undefined;
    if (id === undefined) missing.push(paths[i]);
    return id ?? 0;
  });
  if (missing.length) {
    throw new AppError('not-found', `not in the dataset: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` (and ${missing.length - 10} more)` : ''}`);
  }
  return ids;
}

/**
 * The stored curation passes (one per dataset and backbone: the newest replaces the last) and what makes one
 * stale: `contentHash`, a hash of the usable files and their contents as the pass saw them. The user's own
 * actions (relabel, exclude, verdicts) do not change it; a rescan that adds, removes or changes files does.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection';
import { AppError } from '../core/errors';

export function contentHash(db: Db, datasetId: number): string {
  const h = createHash('sha256');
  const rows = db.prepare("SELECT rel_path, hash FROM images WHERE dataset_id = ? AND status = 'ok' ORDER BY rel_path").raw().iterate(datasetId) as IterableIterator<[string, string | null]>;
  for (const [rel, hash] of rows) h.update(`${rel}\t${hash ?? ''}\n`);
  return h.digest('hex');
}

export interface StoredCuration {
  id: number;
  datasetId: number;
  backboneId: number;
  backbone: string;
  params: Record<string, unknown>;
  result: Record<string, unknown>;
  content: string;
  createdAt: string;
}

export function saveCuration(
  db: Db,
  c: { datasetId: number; backboneId: number; params: unknown; result: unknown; content: string; map: Float32Array | null; mapPaths: readonly string[] | null },
): void {
  db.prepare(
    `INSERT INTO curations (dataset_id, backbone_id, params, result, map, map_paths, content) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (dataset_id, backbone_id) DO UPDATE SET params = excluded.params, result = excluded.result, map = excluded.map,
       map_paths = excluded.map_paths, content = excluded.content, created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
  ).run(
    c.datasetId,
    c.backboneId,
    JSON.stringify(c.params),
    JSON.stringify(c.result),
    c.map ? Buffer.from(c.map.buffer, c.map.byteOffset, c.map.byteLength) : null,
    c.mapPaths ? JSON.stringify(c.mapPaths) : null,
    c.content,
  );
}

/** The newest pass of the dataset (by the named backbone, or whichever ran last); undefined when none. */
export function loadCuration(db: Db, datasetId: number, backboneId?: number): StoredCuration | undefined {
  const r = db
    .prepare(
      `SELECT c.id, c.dataset_id, c.backbone_id, b.name AS backbone, c.params, c.result, c.content, c.created_at FROM curations c
       JOIN backbones b ON b.id = c.backbone_id WHERE c.dataset_id = ? ${backboneId !== undefined ? 'AND c.backbone_id = ?' : ''}
       ORDER BY c.created_at DESC, c.id DESC LIMIT 1`,
    )
    .get(...(backboneId !== undefined ? [datasetId, backboneId] : [datasetId])) as Record<string, any> | undefined;
  if (!r) return undefined;
  return {
    id: r.id,
    datasetId: r.dataset_id,
    backboneId: r.backbone_id,
    backbone: r.backbone,
    params: JSON.parse(r.params),
    result: JSON.parse(r.result),
    content: r.content,
    createdAt: r.created_at,
  };
}

/** The map of a stored pass: the paths and their x,y (float32 pairs, in [-1, 1]). */
export function loadCurationMap(db: Db, curationId: number): { paths: string[]; xy: Float32Array } {
  const r = db.prepare('SELECT map, map_paths FROM curations WHERE id = ?').get(curationId) as { map: Buffer | null; map_paths: string | null } | undefined;
  if (!r || !r.map || !r.map_paths) throw new AppError('not-found', 'this curation pass has no map');
  const xy = new Float32Array(r.map.byteLength / 4);
  new Uint8Array(xy.buffer).set(r.map);
  return { paths: JSON.parse(r.map_paths) as string[], xy };
}

/** The stored passes of a dataset, newest first: which backbone, when, and the content hash they saw. */
export function listCurations(db: Db, datasetId: number): { backbone: string; createdAt: string; content: string }[] {
  return db
    .prepare('SELECT b.name AS backbone, c.created_at AS createdAt, c.content FROM curations c JOIN backbones b ON b.id = c.backbone_id WHERE c.dataset_id = ? ORDER BY c.created_at DESC, c.id DESC')
    .all(datasetId) as { backbone: string; createdAt: string; content: string }[];
}

/**
 * The SQL of backbones and the embedding store (migration 0007): a backbone's record, and its float32 vectors by
 * image content hash.
 */
import type Database from 'better-sqlite3';
import { AppError } from '../core/errors';
import type { BackbonePreprocessing } from './preprocessing';

type Db = Database.Database;

export type BackboneFormat = 'onnx' | 'tfjs-layers' | 'tfjs-graph';

export interface BackboneInfo {
  id: number;
  name: string;
  format: BackboneFormat;
  featureSize: number;
  preprocessing: BackbonePreprocessing;
  sha256: string;
  /** The copy in the home, relative to it. */
  file: string;
  bytes: number;
  /** Where the user imported it from (shown, never read again). */
  source: string;
  inputName: string;
  outputName: string;
  createdAt: string;
}

/** The row of `backbone list`. */
export interface BackboneListItem {
  id: number;
  name: string;
  format: BackboneFormat;
  featureSize: number;
  createdAt: string;
}

interface Row {
  id: number;
  name: string;
  format: BackboneFormat;
  file: string;
  sha256: string;
  bytes: number;
  source: string;
  input_name: string;
  output_name: string;
  feature_size: number;
  preprocessing: string;
  created_at: string;
}

const fromRow = (r: Row): BackboneInfo => ({
  id: r.id,
  name: r.name,
  format: r.format,
  featureSize: r.feature_size,
  preprocessing: JSON.parse(r.preprocessing) as BackbonePreprocessing,
  sha256: r.sha256,
  file: r.file,
  bytes: r.bytes,
  source: r.source,
  inputName: r.input_name,
  outputName: r.output_name,
  createdAt: r.created_at,
});

export function findBackbone(db: Db, nameOrId: string | number): BackboneInfo | undefined {
  const byId = typeof nameOrId === 'number' || /^\d+$/.test(nameOrId);
  const row = (byId
    ? db.prepare('SELECT * FROM backbones WHERE id = ? OR name = ?').get(Number(nameOrId), String(nameOrId))
    : db.prepare('SELECT * FROM backbones WHERE name = ?').get(nameOrId)) as Row | undefined;
  return row ? fromRow(row) : undefined;
}

/** The backbone named (or numbered) so; a 'not-found' error listing the known names otherwise. */
export function resolveBackbone(db: Db, nameOrId: string | number): BackboneInfo {
  const found = findBackbone(db, nameOrId);
  if (found) return found;
  const names = (db.prepare('SELECT name FROM backbones ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  throw new AppError('not-found', `backbone '${nameOrId}' is not imported (${names.length ? `imported: ${names.join(', ')}` : 'none is: run `backbone import PATH --name NAME`'})`);
}

export function listBackbones(db: Db): BackboneListItem[] {
  return (db.prepare('SELECT id, name, format, feature_size, created_at FROM backbones ORDER BY name').all() as Row[]).map((r) => ({
    id: r.id,
    name: r.name,
    format: r.format,
    featureSize: r.feature_size,
    createdAt: r.created_at,
  }));
}

export function insertBackbone(db: Db, b: Omit<BackboneInfo, 'id' | 'createdAt'>): BackboneInfo {
  const info = db
    .prepare(
      `INSERT INTO backbones (name, format, file, sha256, bytes, source, input_name, output_name, feature_size, preprocessing)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(b.name, b.format, b.file, b.sha256, b.bytes, b.source, b.inputName, b.outputName, b.featureSize, JSON.stringify(b.preprocessing));
  return resolveBackbone(db, Number(info.lastInsertRowid));
}

/** How many other backbones keep the same copy (same sha256): the file goes only with the last one. */
export function sharersOf(db: Db, b: BackboneInfo): number {
  return (db.prepare('SELECT count(*) AS n FROM backbones WHERE file = ? AND id <> ?').get(b.file, b.id) as { n: number }).n;
}

/** Removes the backbone's record and (by the foreign key) its embeddings. */
export function deleteBackbone(db: Db, id: number): void {
  db.prepare('DELETE FROM backbones WHERE id = ?').run(id);
}

/** How many vectors and bytes the store holds for a backbone (what `backbone show` and the UI report). */
export function embeddingStats(db: Db, backboneId: number): { vectors: number; bytes: number } {
  const r = db.prepare('SELECT count(*) AS n, coalesce(sum(length(vector)), 0) AS b FROM embeddings WHERE backbone_id = ?').get(backboneId) as { n: number; b: number };
  return { vectors: r.n, bytes: r.b };
}

/** The content hashes of `hashes` whose view-`view` vector the store already holds for the backbone. */
export function cachedHashes(db: Db, backboneId: number, view = 0): Set<string> {
  const rows = db.prepare('SELECT hash FROM embeddings WHERE backbone_id = ? AND view = ?').pluck().all(backboneId, view) as string[];
  return new Set(rows);
}

/** Stores vectors (one transaction: a killed process leaves whole batches, never half a vector). */
export function putEmbeddings(db: Db, backboneId: number, items: { hash: string; vector: Float32Array }[], view = 0): void {
  const ins = db.prepare('INSERT OR REPLACE INTO embeddings (backbone_id, hash, view, vector) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const it of items) ins.run(backboneId, it.hash, view, Buffer.from(it.vector.buffer, it.vector.byteOffset, it.vector.byteLength));
  })();
}

/** A reader of one stored vector by content hash (raw little-endian float32 bytes), for reads per batch. */
export function embeddingReader(db: Db, backboneId: number, view = 0): (hash: string) => Buffer | undefined {
  const stmt = db.prepare<[number, string, number], Buffer>('SELECT vector FROM embeddings WHERE backbone_id = ? AND hash = ? AND view = ?').pluck();
  return (hash) => stmt.get(backboneId, hash, view);
}

/**
 * The stored vectors of `hashes`, one at a time (a statement per chunk of hashes, rows streamed): the caller
 * decides what to keep, so 100,000 vectors never sit in the heap at once unless it asks.
 */
export function* readEmbeddings(db: Db, backboneId: number, hashes: readonly string[], view = 0): Generator<{ hash: string; vector: Float32Array }> {
  const CHUNK = 500;
  for (let i = 0; i < hashes.length; i += CHUNK) {
    const part = hashes.slice(i, i + CHUNK);
    const stmt = db.prepare(`SELECT hash, vector FROM embeddings WHERE backbone_id = ? AND view = ? AND hash IN (${part.map(() => '?').join(',')})`);
    for (const r of stmt.iterate(backboneId, view, ...part) as Iterable<{ hash: string; vector: Buffer }>) {
      const copy = new Float32Array(r.vector.byteLength / 4);
      new Uint8Array(copy.buffer).set(r.vector);
      yield { hash: r.hash, vector: copy };
    }
  }
}

/**
 * The class-pair policy of a dataset (table `pair_policy`, migration 0003). Pairs are unordered class names
 * (stored a ≤ b in SQLite's byte order, the order class indexes follow); only pairs not at the default
 * weight 1 are stored. Forbidden = weight 0.
 */
import { AppError } from '../core/errors';
import { checkJsonDepth } from '../core/json-text';
import type { Db } from '../db/connection';
import type { PairPolicy } from '../mixup/pairing';
import { listClasses } from './repository';

export interface PolicyPairInfo {
  a: string;
  b: string;
  weight: number;
  note: string | null;
  updatedAt: string;
}

interface PairRow {
  class_a: string;
  class_b: string;
  weight: number;
  note: string | null;
  updated_at: string;
}

/** The policy file of `policy export` / `policy import`. */
export interface PolicyFile {
  format: 'mixup-studio.pair-policy';
  version: 1;
  dataset: string;
  classes: string[];
  pairs: { a: string; b: string; weight: number; note: string | null }[];
}

/** Orders two class names as SQLite's BINARY collation does (UTF-8 bytes), the order of class indexes. */
export function compareNames(x: string, y: string): number {
  return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
}

export function orderPair(x: string, y: string): [string, string] {
  return compareNames(x, y) <= 0 ? [x, y] : [y, x];
}

function toInfo(r: PairRow): PolicyPairInfo {
  return { a: r.class_a, b: r.class_b, weight: r.weight, note: r.note, updatedAt: r.updated_at };
}

/** Throws AppError('input') naming the class when it is not a class of the dataset. */
export function checkClass(db: Db, datasetId: number, name: string, datasetName?: string): void {
  const classes = listClasses(db, datasetId).map((c) => c.name);
  if (!classes.includes(name)) {
    const shown = classes.slice(0, 30).join(', ') + (classes.length > 30 ? ', …' : '');
    throw new AppError('input', `class '${name}' is not in dataset ${datasetName ? `'${datasetName}'` : datasetId} (classes: ${shown || 'none'})`);
  }
}

function checkWeight(weight: number, where = 'weight'): void {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1) {
    // Quote a number, never a structure (it may be huge, or not the user's own text).
    const got = typeof weight === 'number' ? String(weight) : weight === null ? 'null' : `a ${Array.isArray(weight) ? 'list' : typeof weight}`;
    throw new AppError('input', `${where}: must be a number in [0, 1] (0 = forbidden, 1 = default), got ${got}`);
  }
}

/** Every stored pair of the dataset (those not at the default), ordered by a, b. */
export function listPolicy(db: Db, datasetId: number): PolicyPairInfo[] {
  const rows = db
    .prepare('SELECT class_a, class_b, weight, note, updated_at FROM pair_policy WHERE dataset_id = ? ORDER BY class_a, class_b')
    .all(datasetId) as PairRow[];
  return rows.map(toInfo);
}

/** The snapshot a run stores and the mixer uses: `{pairs: [{a, b, weight, note}]}` by class name. */
export function getPolicy(db: Db, datasetId: number): PairPolicy & { pairs: PolicyPairInfo[]; updatedAt: string | null } {
  const classes = new Set(listClasses(db, datasetId).map((c) => c.name));
  const pairs = listPolicy(db, datasetId).filter((p) => classes.has(p.a) && classes.has(p.b));
  const updatedAt = pairs.reduce<string | null>((m, p) => (m === null || p.updatedAt > m ? p.updatedAt : m), null);
  return { pairs, updatedAt };
}

/**
 * Sets the weight of the unordered pair (a, b): 1 removes the row (back to the default), 0 forbids.
 * `note` replaces the stored note when given (undefined keeps it). Returns the pair as stored now.
 */
export function setPairWeight(
  db: Db,
  datasetId: number,
  x: string,
  y: string,
  weight: number,
  note?: string | null,
  datasetName?: string,
): PolicyPairInfo {
  checkClass(db, datasetId, x, datasetName);
  checkClass(db, datasetId, y, datasetName);
  checkWeight(weight);
  const [a, b] = orderPair(x, y);
  if (weight === 1 && (note === undefined || note === null)) {
    db.prepare('DELETE FROM pair_policy WHERE dataset_id = ? AND class_a = ? AND class_b = ?').run(datasetId, a, b);
    return { a, b, weight: 1, note: null, updatedAt: new Date().toISOString() };
  }
  const row = db
    .prepare(
      `INSERT INTO pair_policy (dataset_id, class_a, class_b, weight, note) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (dataset_id, class_a, class_b) DO UPDATE SET
         weight = excluded.weight,
         note = CASE WHEN ? THEN excluded.note ELSE pair_policy.note END,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
       RETURNING class_a, class_b, weight, note, updated_at`,
    )
    .get(datasetId, a, b, weight, note ?? null, note === undefined ? 0 : 1) as PairRow;
  return toInfo(row);
}

/** The dataset's policy as a portable file (class names, so it applies to another copy of the dataset). */
export function exportPolicy(db: Db, datasetId: number, datasetName: string): PolicyFile {
  return {
    format: 'mixup-studio.pair-policy',
    version: 1,
    dataset: datasetName,
    classes: listClasses(db, datasetId).map((c) => c.name),
    pairs: listPolicy(db, datasetId).map(({ a, b, weight, note }) => ({ a, b, weight, note })),
  };
}

/**
 * Parses and checks a policy document (the export format, or a bare `[{a, b, weight, note}]` array):
 * every class must be a class of the dataset, weights in [0, 1], no pair twice with different weights.
 */
export function parsePolicyFile(raw: unknown, classes: readonly string[], file: string): PolicyFile['pairs'] {
  checkJsonDepth(raw, file);
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? (raw as { pairs?: unknown }).pairs : undefined;
  if (!Array.isArray(list)) throw new AppError('input', `${file}: expected {"pairs": [{"a", "b", "weight", "note"}]} or an array of pairs`);
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const fmt = (raw as { format?: unknown }).format;
    if (fmt !== undefined && fmt !== 'mixup-studio.pair-policy') {
      throw new AppError('input', `${file}: not a MixUp Studio pair policy (its format is not 'mixup-studio.pair-policy')`);
    }
  }
  const known = new Set(classes);
  const seen = new Map<string, number>();
  const out: PolicyFile['pairs'] = [];
  list.forEach((item, i) => {
    const where = `${file}: pairs[${i}]`;
    if (!item || typeof item !== 'object') throw new AppError('input', `${where}: must be an object {a, b, weight}`);
    const { a: x, b: y, weight, note } = item as Record<string, unknown>;
    for (const [k, v] of [['a', x], ['b', y]] as const) {
      if (typeof v !== 'string' || v === '') throw new AppError('input', `${where}.${k}: must be a class name`);
      if (!known.has(v)) throw new AppError('input', `${where}.${k}: unknown class '${v}' (not in this dataset)`);
    }
    const w = weight === undefined ? 0 : weight;
    checkWeight(w as number, `${where}.weight`);
    if (note !== undefined && note !== null && typeof note !== 'string') throw new AppError('input', `${where}.note: must be text or null`);
    const [a, b] = orderPair(x as string, y as string);
    const key = `${a}\u0000${b}`;
    if (seen.has(key) && seen.get(key) !== w) throw new AppError('input', `${where}: pair ${a}/${b} is listed twice with different weights`);
    seen.set(key, w as number);
    out.push({ a, b, weight: w as number, note: (note as string | null | undefined) ?? null });
  });
  return out;
}

/** Replaces the dataset's policy with `pairs` in one transaction (a failure leaves the old policy intact). */
export function replacePolicy(db: Db, datasetId: number, pairs: PolicyFile['pairs']): { pairs: number } {
  const insert = db.prepare(
    `INSERT INTO pair_policy (dataset_id, class_a, class_b, weight, note) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (dataset_id, class_a, class_b) DO UPDATE SET weight = excluded.weight, note = excluded.note,
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
  );
  let stored = 0;
  db.transaction(() => {
    db.prepare('DELETE FROM pair_policy WHERE dataset_id = ?').run(datasetId);
    for (const p of pairs) {
      if (p.weight === 1 && !p.note) continue;
      insert.run(datasetId, p.a, p.b, p.weight, p.note);
      stored += 1;
    }
  })();
  return { pairs: stored };
}

/** The full K×K view for the UI heatmap: classes in index order and every stored pair. */
export function policyMatrixView(db: Db, datasetId: number): { classes: string[]; pairs: { a: string; b: string; weight: number; note: string | null }[] } {
  const classes = listClasses(db, datasetId).map((c) => c.name);
  const known = new Set(classes);
  return {
    classes,
    pairs: listPolicy(db, datasetId)
      .filter((p) => known.has(p.a) && known.has(p.b))
      .map(({ a, b, weight, note }) => ({ a, b, weight, note })),
  };
}

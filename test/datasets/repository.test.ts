import { afterEach, describe, expect, it } from 'vitest';
import {
  datasetFingerprint,
  listClasses,
  listUsableImages,
  markCorrupt,
  resolveDataset,
} from '../../src-main/datasets/repository';
import { tempServicesIn } from '../helpers/temp';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function seeded() {
  const s = tempServicesIn(cleanups);
  const db = s.db;
  const ds = Number(db.prepare("INSERT INTO datasets (name, root, scan_state) VALUES ('toy', '/data/toy', 'complete')").run().lastInsertRowid);
  const cls = (name: string) => Number(db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)').run(ds, name).lastInsertRowid);
  const zebra = cls('zebra');
  const ant = cls('ant');
  const add = (rel: string, c: number, split: string, extra: Record<string, unknown> = {}) =>
    Number(
      db
        .prepare(
          `INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels, status, excluded_reason)
           VALUES (@ds, @rel, @c, @split, 'auto', 10, 1, @hash, 'png', 28, 28, 1, @status, @excluded)`,
        )
        .run({ ds, rel, c, split, hash: `h-${rel}`, status: 'ok', excluded: null, ...extra }).lastInsertRowid,
    );
  const ids = {
    z2: add('zebra/2.png', zebra, 'val'),
    z1: add('zebra/1.png', zebra, 'train'),
    a1: add('ant/1.png', ant, 'train'),
    bad: add('ant/bad.png', ant, 'train', { status: 'corrupt' }),
    ex: add('ant/ex.png', ant, 'train', { excluded: 'blurry' }),
  };
  return { s, db, ds, ids };
}

describe('datasets repository (the cross-team API)', () => {
  it('resolves a dataset by name, by id and by a digit string, and names what it could not find', () => {
    const { db, ds } = seeded();
    expect(resolveDataset(db, 'toy').id).toBe(ds);
    expect(resolveDataset(db, ds).name).toBe('toy');
    expect(resolveDataset(db, String(ds)).name).toBe('toy');
    expect(() => resolveDataset(db, 'nope')).toThrow(/no dataset 'nope'.*toy/);
  });

  it('gives classes a stable 0-based index in name order', () => {
    const { db, ds } = seeded();
    expect(listClasses(db, ds).map((c) => [c.name, c.index])).toEqual([
      ['ant', 0],
      ['zebra', 1],
    ]);
  });

  it('lists only usable images, ordered by relative path, with absolute paths and label indices', () => {
    const { db, ds } = seeded();
    const all = listUsableImages(db, ds);
    expect(all.map((i) => i.relPath)).toEqual(['ant/1.png', 'zebra/1.png', 'zebra/2.png']);
    expect(all[0]).toMatchObject({ path: '/data/toy/ant/1.png', classIndex: 0, className: 'ant', width: 28, channels: 1 });
    expect(listUsableImages(db, ds, { split: 'val' }).map((i) => i.relPath)).toEqual(['zebra/2.png']);
  });

  it('markCorrupt removes an image from the usable list and changes the fingerprint', () => {
    const { db, ds, ids } = seeded();
    const before = datasetFingerprint(db, ds);
    expect(datasetFingerprint(db, ds)).toBe(before);
    markCorrupt(db, ids.z1, 'decode failed: premature end');
    expect(listUsableImages(db, ds).map((i) => i.relPath)).toEqual(['ant/1.png', 'zebra/2.png']);
    expect(db.prepare('SELECT reason FROM images WHERE id = ?').pluck().get(ids.z1)).toBe('decode failed: premature end');
    expect(datasetFingerprint(db, ds)).not.toBe(before);
    expect(() => markCorrupt(db, 999999, 'x')).toThrow(/no image with id 999999/);
  });

  it('the fingerprint changes with a split change and ignores unusable rows', () => {
    const { db, ds, ids } = seeded();
    const before = datasetFingerprint(db, ds);
    db.prepare("UPDATE images SET hash = 'other' WHERE id = ?").run(ids.bad);
    expect(datasetFingerprint(db, ds)).toBe(before);
    db.prepare("UPDATE images SET split = 'train' WHERE id = ?").run(ids.z2);
    expect(datasetFingerprint(db, ds)).not.toBe(before);
  });

  it('the queries a million-image dataset runs use indexes, not table scans', () => {
    const { db, ds } = seeded();
    const plan = (sql: string, ...p: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...p) as { detail: string }[]).map((r) => r.detail).join(' | ');
    const lookups: [string, unknown[], RegExp][] = [
      ['SELECT id FROM images WHERE dataset_id = ? AND rel_path = ?', [ds, 'x'], /INDEX sqlite_autoindex_images/],
      ['SELECT hash, COUNT(*) FROM images WHERE dataset_id = ? GROUP BY hash HAVING COUNT(*) > 1', [ds], /COVERING INDEX images_by_hash/],
      ['SELECT id FROM images WHERE dataset_id = ? AND class_id = ? AND split = ? ORDER BY id LIMIT 50 OFFSET 100', [ds, 1, 'train'], /COVERING INDEX images_by_class_split/],
      ["SELECT id FROM images WHERE dataset_id = ? AND verified = 0 AND status = 'ok' ORDER BY id", [ds], /images_unverified/],
      ["SELECT rel_path FROM images WHERE dataset_id = ? AND status = 'corrupt'", [ds], /images_corrupt/],
      ['SELECT rel_path FROM images WHERE dataset_id = ? AND excluded_reason IS NOT NULL', [ds], /images_excluded/],
      // The counts of `datasets:list` / `dataset show` (summary.ts): indexes only, never a pass over the table.
      ['SELECT COUNT(*) FROM images WHERE dataset_id = ?', [ds], /COVERING INDEX images_by_dataset/],
      ['SELECT class_id, split, COUNT(*) FROM images INDEXED BY images_by_class_split WHERE dataset_id = ? GROUP BY class_id, split', [ds], /COVERING INDEX images_by_class_split/],
      ["SELECT class_id, split, COUNT(*) FROM images INDEXED BY images_corrupt WHERE dataset_id = ? AND status = 'corrupt' GROUP BY class_id, split", [ds], /images_corrupt/],
      ["SELECT COUNT(*) FROM images WHERE dataset_id = ? AND excluded_reason IS NOT NULL AND status = 'ok'", [ds], /images_excluded/],
      ["SELECT COUNT(*) FROM images WHERE dataset_id = ? AND verified = 0 AND status = 'ok'", [ds], /COVERING INDEX images_unverified/],
    ];
    for (const [sql, params, re] of lookups) {
      const p = plan(sql, ...params);
      expect(p, sql).toMatch(re);
      expect(p, sql).not.toMatch(/SCAN images(?! USING)/);
    }
  });
});

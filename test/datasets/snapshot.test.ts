import { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src-main/datasets/scan';
import { decodeSnapshot, encodeSnapshot, snapshotOf, hasSnapshot, loadKnown, type Known } from '../../src-main/datasets/snapshot';
import { tempDir, tempServicesIn } from '../helpers/temp';
// @ts-expect-error plain JS fixture builder
import { encodeFashion } from '../fixtures/dataset-trees.mjs';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((f) => f()));

const home = () => tempServicesIn(cleanups);

async function tree(classes: string[], n: number): Promise<string> {
  const t = tempDir('mixup-snapshot-');
  cleanups.push(t.cleanup);
  for (const cls of classes) {
    mkdirSync(join(t.dir, cls), { recursive: true });
    for (let k = 0; k < n; k++) writeFileSync(join(t.dir, cls, `img-${k}.png`), await encodeFashion(cls, k, 'png'));
  }
  return t.dir;
}

const byRel = (rows: Known[]) => [...rows].sort((a, b) => (a[0] < b[0] ? -1 : 1));
const tableRows = (db: any, id: number): Known[] =>
  db.prepare('SELECT rel_path, id, bytes, mtime_ms, class_id, split, split_source FROM images WHERE dataset_id = ?').raw().all(id);

describe('scan snapshot', () => {
  it('round-trips every path (unicode, commas, spaces), exact fractional mtimes and every split and source', () => {
    const rows: Known[] = [
      ['coat/ünïcødé 猫.png', 1, 123, 1764111111123.4567, 7, 'train', 'auto'],
      ['dress/a,b c.jpg', 2, 0, 0.1 + 0.2, 8, 'val', 'pending'],
      ['test/bag/x.webp', 2 ** 40, 2 ** 52, 1e15 + 0.25, 9, 'test', 'folder'],
      ['m.png', 4, 5, 6, 10, 'val', 'manifest'],
    ];
    const { rels, nums } = encodeSnapshot(rows);
    const decode = (count: number, r: Buffer, n: Buffer) => {
      const snap = snapshotOf(count, r, n);
      return snap && decodeSnapshot(snap);
    };
    expect(decode(rows.length, rels, nums)).toEqual(rows);
    expect(decode(0, Buffer.alloc(0), Buffer.alloc(0))).toEqual([]);
    // Blobs that do not fit the count are refused (the caller then reads the table).
    expect(decode(rows.length + 1, rels, nums)).toBeUndefined();
    expect(decode(rows.length, rels, nums.subarray(8))).toBeUndefined();
    expect(decode(rows.length, Buffer.from(rels.toString().replace('\0', '/')), nums)).toBeUndefined();
    // A blob starting at an odd offset still decodes (copied into an aligned buffer).
    const odd = Buffer.concat([Buffer.alloc(3), nums]).subarray(3);
    expect(decode(rows.length, rels, odd)).toEqual(rows);
  });

  it('groups rows by folder, whatever order the table gives them in', () => {
    const rows: Known[] = [
      ['a/1.png', 1, 1, 1, 1, 'train', 'auto'],
      ['b/1.png', 2, 1, 1, 2, 'train', 'auto'],
      ['a/sub/1.png', 3, 1, 1, 1, 'train', 'auto'],
      ['a/2.png', 4, 1, 1, 1, 'val', 'auto'],
      ['b/2.png', 5, 1, 1, 2, 'train', 'auto'],
    ];
    const { rels, nums } = encodeSnapshot(rows);
    expect(decodeSnapshot(snapshotOf(rows.length, rels, nums)!)!.map((r) => r[0])).toEqual(['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png', 'a/sub/1.png']);
  });

  it('a complete scan leaves a snapshot equal to the image rows, and a rescan reads it', async () => {
    const root = await tree(['coat', 'dress'], 4);
    const s = home();
    const r = await scanDataset(s.db, { root, workers: 0 });
    expect(hasSnapshot(s.db, r.dataset.id)).toBe(true);
    const loaded = loadKnown(s.db, r.dataset.id);
    expect(loaded.fromSnapshot).toBe(true);
    expect(byRel(loaded.rows)).toEqual(byRel(tableRows(s.db, r.dataset.id)));
    const again = await scanDataset(s.db, { root, workers: 0 });
    expect([again.added, again.removed, again.changed, again.unchanged]).toEqual([0, 0, 0, 8]);
  });

  it('triggers drop it on any write to what it holds (insert, delete, size, mtime, class, split), not on verify or curation', async () => {
    const root = await tree(['coat', 'dress'], 3);
    const s = home();
    const { dataset } = await scanDataset(s.db, { root, workers: 0 });
    const id = dataset.id;
    const rescan = () => scanDataset(s.db, { root, workers: 0 });
    // Not what a rescan compares: kept.
    s.db.prepare("UPDATE images SET verified = 1, thumb = 'x.webp' WHERE dataset_id = ?").run(id);
    s.db.prepare("UPDATE images SET excluded_reason = 'blurry', status = 'corrupt', reason = 'r' WHERE rel_path = 'coat/img-0.png'").run();
    expect(hasSnapshot(s.db, id)).toBe(true);
    const writes = [
      "UPDATE images SET bytes = bytes + 1 WHERE rel_path = 'coat/img-1.png'",
      "UPDATE images SET mtime_ms = mtime_ms + 1 WHERE rel_path = 'coat/img-1.png'",
      "UPDATE images SET split = 'val' WHERE rel_path = 'coat/img-2.png'",
      "UPDATE images SET split_source = 'folder' WHERE rel_path = 'coat/img-2.png'",
      "UPDATE images SET class_id = (SELECT id FROM classes WHERE name = 'dress') WHERE rel_path = 'coat/img-2.png'",
      "UPDATE images SET rel_path = 'coat/renamed.png' WHERE rel_path = 'dress/img-0.png'",
      "DELETE FROM images WHERE rel_path = 'dress/img-1.png'",
    ];
    for (const sql of writes) {
      await rescan();
      expect(hasSnapshot(s.db, id), sql).toBe(true);
      s.db.prepare(sql).run();
      expect(hasSnapshot(s.db, id), sql).toBe(false);
      expect(loadKnown(s.db, id).fromSnapshot, sql).toBe(false);
    }
    // And a rescan after those writes puts the rows right again from the folder.
    const r = await rescan();
    expect(r.images).toBe(5); // coat/img-0.png stays marked corrupt: unchanged on disk, not re-read
    expect(byRel(loadKnown(s.db, id).rows)).toEqual(byRel(tableRows(s.db, id)));
    // Removing the dataset removes its snapshot with it.
    s.db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
    expect(s.db.prepare('SELECT COUNT(*) FROM scan_snapshots').pluck().get()).toBe(0);
  });

  it('rescans give the same counts and rows with or without a snapshot: in-place edit, add, remove, move', async () => {
    const root = await tree(['coat', 'dress', 'shirt'], 4);
    const withSnap = home();
    const without = home();
    await scanDataset(withSnap.db, { root, workers: 0 });
    const first = await scanDataset(without.db, { root, workers: 0 });
    const when = new Date('2026-03-04T05:06:07Z');
    utimesSync(join(root, 'coat/img-1.png'), when, when);
    writeFileSync(join(root, 'dress/new.png'), await encodeFashion('dress', 30, 'png'));
    rmSync(join(root, 'shirt/img-3.png'));
    renameSync(join(root, 'coat/img-2.png'), join(root, 'shirt/moved.png'));
    without.db.prepare('DELETE FROM scan_snapshots').run();
    const a = await scanDataset(withSnap.db, { root, workers: 0 });
    const b = await scanDataset(without.db, { root, workers: 0 });
    expect([a.added, a.removed, a.changed, a.unchanged]).toEqual([2, 2, 1, 9]);
    expect([b.added, b.removed, b.changed, b.unchanged]).toEqual([a.added, a.removed, a.changed, a.unchanged]);
    const view = (db: any, id: number) =>
      db
        .prepare('SELECT i.rel_path, i.bytes, i.mtime_ms, c.name, i.split, i.split_source FROM images i JOIN classes c ON c.id = i.class_id WHERE i.dataset_id = ? ORDER BY i.rel_path')
        .raw()
        .all(id);
    expect(view(withSnap.db, a.dataset.id)).toEqual(view(without.db, first.dataset.id));
    // Both wrote a fresh snapshot that matches their rows.
    for (const [db, id] of [[withSnap.db, a.dataset.id], [without.db, b.dataset.id]] as const) {
      expect(byRel(loadKnown(db, id).rows)).toEqual(byRel(tableRows(db, id)));
    }
  });
});

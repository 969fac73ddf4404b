import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { tempDir, tempServicesIn, testContext } from '../helpers/temp';
// @ts-expect-error plain JS fixture builder
import { buildClassTree } from '../fixtures/dataset-trees.mjs';

let base: { dir: string; cleanup(): void };
let root: string;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  base = tempDir('mixup-gallery-');
  root = (await buildClassTree(base.dir, { perClass: 3 })).root;
});
afterAll(() => {
  cleanups.forEach((f) => f());
  base.cleanup();
});

describe('datasets ops: curation and gallery paging', () => {
  it('exclude/include by path: excluded images leave the counts and resolve a duplicate conflict; unknown paths are named', async () => {
    const s = tempServicesIn(cleanups);
    const { ctx } = testContext(s);
    const op = (name: string, input: object) => invokeOperation(operations, name, input, ctx) as Promise<any>;
    const idx = await op('datasets:index', { root });
    const ex = await op('datasets:exclude', { dataset: 'tree', paths: ['t-shirt/dup-b.png', join(root, 'bag/fm-0.png')], reason: 'conflict' });
    expect(ex).toEqual({ changed: 2 });
    const shown = await op('datasets:show', { dataset: idx.dataset.id });
    expect(shown.images).toBe(idx.images - 2);
    expect(shown.excluded.map((e: any) => e.path)).toEqual(['bag/fm-0.png', 't-shirt/dup-b.png']);
    expect(shown.duplicates).toEqual([]);
    expect(await op('datasets:include', { dataset: 'tree', paths: ['bag/fm-0.png'] })).toEqual({ changed: 1 });
    expect((await op('datasets:show', { dataset: 'tree' })).images).toBe(idx.images - 1);
    await expect(op('datasets:exclude', { dataset: 'tree', paths: ['bag/none.png'], reason: 'x' })).rejects.toThrow(/not in the dataset: bag\/none\.png/);
    await expect(op('datasets:exclude', { dataset: 'tree', paths: ['bag/fm-1.png'], reason: ' ' })).rejects.toThrow(/reason/);
    await expect(op('datasets:index', { root, valFraction: 2 })).rejects.toThrow(/valFraction/);
  });

  it('pages by offset in id order, filters by class/split/status, and counts the total', async () => {
    const s = tempServicesIn(cleanups);
    const { ctx, events } = testContext(s);
    const idx: any = await invokeOperation(operations, 'datasets:index', { root }, ctx);
    // Progress for the UI: index.progress events, the last one complete.
    const progress = events.filter((e) => e.topic === 'index.progress').map((e) => e.data as any);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ done: idx.added, total: idx.added, label: 'done' });
    const page = (input: object) => invokeOperation(operations, 'datasets:images', { dataset: idx.dataset.id, ...input }, ctx) as Promise<any>;
    const all = await page({ offset: 0, limit: 1000 });
    expect(all.total).toBe(idx.images + idx.corrupt.length);
    const ids = all.items.map((i: any) => i.id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
    const p2 = await page({ offset: 5, limit: 5 });
    expect(p2.items.map((i: any) => i.id)).toEqual(ids.slice(5, 10));
    const bag = await page({ class: 'bag', offset: 0, limit: 1000 });
    expect(bag.items.every((i: any) => i.class === 'bag')).toBe(true);
    expect(bag.total).toBe(bag.items.length);
    const corrupt = await page({ status: 'corrupt', offset: 0, limit: 1000 });
    expect(corrupt.total).toBe(idx.corrupt.length);
    expect(corrupt.items[0]).toMatchObject({ status: 'corrupt', reason: expect.any(String), excludedReason: null });
    const val = await page({ split: 'val', offset: 0, limit: 1000 });
    expect(val.items.every((i: any) => i.split === 'val')).toBe(true);
    await expect(page({ class: 'zebra', offset: 0, limit: 10 })).rejects.toThrow(/no class 'zebra'/);
  });

  it('serves a deep page of a 100,000-image dataset from indexes, fast', async () => {
    const s = tempServicesIn(cleanups);
    const db = s.db;
    const ds = Number(db.prepare("INSERT INTO datasets (name, root, scan_state) VALUES ('big', '/big', 'complete')").run().lastInsertRowid);
    for (let c = 0; c < 10; c++) db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)').run(ds, `c${c}`);
    const first = db.prepare('SELECT MIN(id) FROM classes WHERE dataset_id = ?').pluck().get(ds) as number;
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
       INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels)
       SELECT ?, printf('c%d/%07d.png', i % 10, i), ? + (i % 10), CASE WHEN i % 3 = 0 THEN 'val' ELSE 'train' END, 'auto', 100, 1, printf('%040d', i), 'png', 28, 28, 1 FROM n`,
    ).run(ds, first);
    const { ctx } = testContext(s);
    const deep: any = await invokeOperation(operations, 'datasets:images', { dataset: 'big', offset: 99000, limit: 100 }, ctx);
    expect(deep.total).toBe(100000);
    // A later page can skip the count (a full index scan) and still gets the same rows.
    const deepNoCount: any = await invokeOperation(operations, 'datasets:images', { dataset: 'big', offset: 99000, limit: 100, withTotal: false }, ctx);
    expect(deepNoCount.total).toBeNull();
    expect(deepNoCount.items).toEqual(deep.items);
    expect(deep.items).toHaveLength(100);
    const classPage: any = await invokeOperation(operations, 'datasets:images', { dataset: 'big', class: 'c3', split: 'val', offset: 3000, limit: 50 }, ctx);
    expect(classPage.total).toBe(db.prepare("SELECT COUNT(*) FROM images WHERE class_id = ? AND split = 'val'").pluck().get(first + 3));
    expect(classPage.items).toHaveLength(50);
    expect(classPage.items.every((i: any) => i.class === 'c3' && i.split === 'val')).toBe(true);
    // Speed is in bench:ui; here the plans: pages come from covering indexes, in id order, with no sort.
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(ds, first + 3) as any[]).map((r) => r.detail).join(' | ');
    const all = plan('SELECT id FROM images WHERE dataset_id = ? AND ? > 0 ORDER BY id LIMIT 100 OFFSET 99000');
    expect(all).toMatch(/COVERING INDEX images_by_dataset/);
    const oneClass = plan('SELECT id FROM images WHERE dataset_id = ? AND class_id = ? ORDER BY id LIMIT 100 OFFSET 3000');
    expect(oneClass).toMatch(/COVERING INDEX images_by_class \(dataset_id=\? AND class_id=\?\)/);
    expect(oneClass).not.toMatch(/TEMP B-TREE/);
    const classOnly: any = await invokeOperation(operations, 'datasets:images', { dataset: 'big', class: 'c7', offset: 9950, limit: 100 }, ctx);
    expect(classOnly.total).toBe(10000);
    expect(classOnly.items.map((i: any) => i.class)).toEqual(Array(50).fill('c7'));
    expect(classOnly.items.map((i: any) => i.id)).toEqual([...classOnly.items.map((i: any) => i.id)].sort((a: number, b: number) => a - b));
  });
});

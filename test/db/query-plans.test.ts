/**
 * The statements the catalogue runs (src-main/datasets/catalog.ts: the counts of `datasets:list`, the gallery
 * page and its count for every filter) use the indexes the migrations create, never a pass over the table or a
 * sort. EXPLAIN runs on the very SQL the code prepares, in a database built by the real migrations, so a
 * changed statement or a dropped index fails here (Signal Desktop's migration tests are the pattern).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src-main/db/connection';
import { DATASET_COUNT_SQL, imagesPageSql, type ImagesFilter } from '../../src-main/datasets/catalog';
import { tempDir } from '../helpers/temp';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A migrated database with two datasets of 4,000 images, a few corrupt, excluded and unverified. */
function seeded(): { db: Db; ds: number; cid: number } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const db = openDatabase(join(t.dir, 'db.sqlite'));
  cleanups.unshift(() => db.close());
  const addDs = db.prepare("INSERT INTO datasets (name, root, scan_state) VALUES (?, '/data', 'complete')");
  const addClass = db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)');
  const addImage = db.prepare(
    `INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, status, excluded_reason, verified)
     VALUES (?, ?, ?, ?, 'auto', 100, 0, ?, ?, ?, ?)`,
  );
  let firstDs = 0;
  let firstClass = 0;
  db.transaction(() => {
    for (const name of ['a', 'b']) {
      const ds = Number(addDs.run(name).lastInsertRowid);
      firstDs ||= ds;
      const classes = Array.from({ length: 10 }, (_, k) => Number(addClass.run(ds, `c${k}`).lastInsertRowid));
      firstClass ||= classes[0]!;
      for (let i = 0; i < 4000; i++) {
        const corrupt = i % 200 === 0;
        addImage.run(ds, `c/${i}.png`, classes[i % 10]!, i % 5 === 0 ? 'val' : 'train', `h${i}`, corrupt ? 'corrupt' : 'ok', i % 300 === 1 ? 'blurry' : null, i % 250 === 2 ? 0 : 1);
      }
    }
  })();
  return { db, ds: firstDs, cid: firstClass };
}

const plan = (db: Db, sql: string, params: unknown) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params as never) as { detail: string }[]).map((r) => r.detail).join(' | ');

describe('query plans of the statements the catalogue runs', () => {
  it('answers each count of datasets:list from an index', () => {
    const { db, ds } = seeded();
    const expected: Record<keyof typeof DATASET_COUNT_SQL, RegExp> = {
      all: /COVERING INDEX images_by_dataset/,
      corrupt: /INDEX images_corrupt/,
      excluded: /INDEX images_excluded/,
      unverified: /INDEX images_unverified/,
      classes: /COVERING INDEX sqlite_autoindex_classes/,
    };
    for (const [key, sql] of Object.entries(DATASET_COUNT_SQL) as [keyof typeof DATASET_COUNT_SQL, string][]) {
      const p = plan(db, sql, [ds]);
      expect(p, `${key}: ${sql}`).toMatch(expected[key]);
      expect(p, `${key}: ${sql}`).not.toMatch(/SCAN images(?! USING)/);
    }
  });

  it('takes every gallery page (and its count) from an index, in id order, with no sort', () => {
    const { db, ds, cid } = seeded();
    const filters: Partial<ImagesFilter>[] = [
      {},
      { class: 'c0' },
      { split: 'val' },
      { class: 'c0', split: 'val' },
      { status: 'usable' },
      { status: 'corrupt' },
      { status: 'excluded' },
      { status: 'unverified' },
    ];
    for (const f of filters) {
      const sql = imagesPageSql(f);
      const params = { ds, cid, split: f.split ?? 'train', limit: 100, offset: 1000 };
      const page = plan(db, sql.page, params);
      const count = plan(db, sql.count, params);
      const what = JSON.stringify(f);
      expect(page, what).toMatch(/USING (COVERING )?INDEX images_/);
      expect(page, what).not.toMatch(/TEMP B-TREE/);
      expect(count, what).toMatch(/USING (COVERING )?INDEX images_/);
    }
  });
});

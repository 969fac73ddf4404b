import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src-main/datasets/scan';
import { listUsableImages, resolveDataset } from '../../src-main/datasets/repository';
import { openServices } from '../../src-main/db/open-home';
import { tempDir, tempServicesIn } from '../helpers/temp';
// @ts-expect-error plain JS fixture builder
import { buildClassTree, buildManifestTree, buildSplitTree, encodeFashion } from '../fixtures/dataset-trees.mjs';

let base: { dir: string; cleanup(): void };
let tree: {
  root: string;
  good: { rel: string; cls: string }[];
  corrupt: { rel: string; why: RegExp }[];
  skipped: string[];
  dangling: string[];
  loopLink: string;
  insideLink: string;
};
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  base = tempDir('mixup-scan-');
  tree = await buildClassTree(base.dir);
});
afterAll(() => {
  cleanups.forEach((f) => f());
  base.cleanup();
});

const home = () => tempServicesIn(cleanups);

/** A class tree of `n` distinct Fashion-MNIST PNGs per class. */
async function plainTree(dir: string, classes: string[], n: number, offset = 0) {
  for (const cls of classes) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let k = 0; k < n; k++) writeFileSync(join(dir, cls, `img-${k + offset}.png`), await encodeFashion(cls, k + offset, 'png'));
  }
}

function splitsOf(db: any, datasetId: number): Map<string, string> {
  return new Map(db.prepare('SELECT rel_path, split FROM images WHERE dataset_id = ?').raw().all(datasetId));
}

describe('scanDataset on a real class-folder tree', () => {
  it('indexes every good image with its class, format and size; reports corrupt, skipped, dangling and duplicates', async () => {
    const s = home();
    const r = await scanDataset(s.db, { root: tree.root, workers: 0 });
    expect(r.dataset).toEqual({ id: expect.any(Number), name: 'tree', root: resolve(tree.root) });
    expect(r.images).toBe(tree.good.length);
    expect(r.added).toBe(tree.good.length + tree.corrupt.length);
    expect([r.removed, r.changed, r.unchanged]).toEqual([0, 0, 0]);
    const byClass = new Map<string, number>();
    for (const g of tree.good) byClass.set(g.cls, (byClass.get(g.cls) ?? 0) + 1);
    expect(Object.fromEntries(r.classes.map((c) => [c.name, c.count]))).toEqual(Object.fromEntries(byClass));
    // Corrupt: each bad file, with its own reason; corrupt files do not count as images.
    expect(r.corrupt.map((c) => c.path).sort()).toEqual(tree.corrupt.map((c) => c.rel).sort());
    for (const c of tree.corrupt) expect(r.corrupt.find((x) => x.path === c.rel)!.reason, c.rel).toMatch(c.why);
    // Skipped: hidden files/folders, non-image extensions, files outside class folders, links that add nothing, dangling.
    const skipped = new Map(r.skipped.map((x) => [x.path, x.reason]));
    for (const p of tree.skipped) expect(skipped.has(p), p).toBe(true);
    expect(skipped.get('bag/.hidden.png')).toMatch(/hidden/);
    expect(skipped.get('trouser/notes.txt')).toMatch(/not an image extension/);
    expect(skipped.get(tree.dangling[0])).toMatch(/dangling/);
    expect(skipped.get(tree.loopLink)).toMatch(/adds nothing/);
    expect(skipped.get(tree.insideLink)).toMatch(/adds nothing/);
    // The cross-class duplicate is a flagged label conflict; both members stay usable.
    expect(r.duplicates).toEqual([
      { hash: expect.stringMatching(/^[0-9a-f]{40}$/), paths: ['t-shirt/dup-b.png', 'trouser/dup-a.png'], classes: ['t-shirt', 'trouser'], conflict: true },
    ]);
    const usable = listUsableImages(s.db, r.dataset.id);
    expect(usable.map((u) => u.relPath)).toEqual(tree.good.map((g) => g.rel).sort());
    const byRel = new Map(usable.map((u) => [u.relPath, u]));
    expect(byRel.get('sneaker/formats/jpeg-cmyk.jpg')).toMatchObject({ format: 'jpeg', channels: 4, width: 28, height: 28 });
    expect(byRel.get('sneaker/formats/avif.avif')).toMatchObject({ format: 'avif', width: 28 });
    expect(byRel.get('sneaker/formats/tiff.tif')).toMatchObject({ format: 'tiff' });
    expect(byRel.get('sneaker/UPPER.JPG')).toMatchObject({ format: 'jpeg' });
    expect(byRel.get('sneaker/Mixed.PnG')).toMatchObject({ format: 'png' });
    expect(byRel.get('bag/sac-à-main-日本.png')).toMatchObject({ className: 'bag' });
    // The link to a file outside the tree is followed; the path stays the link's.
    expect(byRel.get('bag/outside-link.png')!.path).toBe(join(resolve(tree.root), 'bag/outside-link.png'));
    const row = s.db.prepare('SELECT bytes, mtime_ms, hash FROM images WHERE rel_path = ?').get('bag/fm-0.png') as any;
    expect(row.bytes).toBe(statSync(join(tree.root, 'bag/fm-0.png')).size);
    expect(row.mtime_ms).toBe(statSync(join(tree.root, 'bag/fm-0.png')).mtimeMs);
  });

  it('gives the same rows reading in worker threads as on the calling thread', async () => {
    const a = home();
    const b = home();
    const c = home();
    await scanDataset(a.db, { root: tree.root, workers: 0 });
    await scanDataset(b.db, { root: tree.root, workers: 2, inlineBelow: 0, batchSize: 7 });
    // Mixed: the first files on the calling thread, then the pool once files average >= 100 bytes.
    await scanDataset(c.db, { root: tree.root, workers: 2, inlineBelow: 10, poolMinBytes: 100, batchSize: 5 });
    const rows = (db: any) =>
      db.prepare('SELECT rel_path, split, bytes, mtime_ms, hash, format, width, height, channels, status, reason FROM images ORDER BY rel_path').all();
    expect(rows(b.db)).toEqual(rows(a.db));
    expect(rows(c.db)).toEqual(rows(a.db));
  });

  it('a symbolic-link loop among outside folders never hangs and adds each outside file once', async () => {
    const t = tempDir('mixup-links-');
    cleanups.push(t.cleanup);
    const root = join(t.dir, 'root');
    const out = join(t.dir, 'out');
    await plainTree(root, ['coat'], 2);
    await plainTree(out, ['shirt'], 2);
    symlinkSync(out, join(root, 'b')); // class b = an outside folder
    symlinkSync(out, join(root, 'c')); // the same outside folder again: adds nothing
    symlinkSync('..', join(out, 'shirt', 'up')); // a loop inside the outside folder
    symlinkSync(join(root, 'coat'), join(out, 'back')); // and a way back into the tree
    const s = home();
    const r = await scanDataset(s.db, { root, workers: 0 });
    expect(r.classes.map((c) => [c.name, c.count])).toEqual([
      ['b', 2],
      ['coat', 2],
    ]);
    const reasons = new Map(r.skipped.map((x) => [x.path, x.reason]));
    expect(reasons.get('c')).toMatch(/adds nothing/);
    expect(reasons.get('b/shirt/up')).toMatch(/adds nothing/);
    expect(reasons.get('b/back')).toMatch(/into the dataset folder/);
  });
});

describe('rescan', () => {
  it('does not re-read unchanged files and counts added, removed, changed and unchanged', async () => {
    const t = tempDir('mixup-rescan-');
    cleanups.push(t.cleanup);
    await plainTree(t.dir, ['coat', 'dress'], 5);
    const victim = join(t.dir, 'coat/img-0.png');
    const fixed = new Date('2026-01-02T03:04:05Z');
    utimesSync(victim, fixed, fixed);
    const s = home();
    const first = await scanDataset(s.db, { root: t.dir, workers: 0 });
    expect([first.added, first.removed, first.changed, first.unchanged]).toEqual([10, 0, 0, 0]);
    const again = await scanDataset(s.db, { root: t.dir, workers: 0 });
    expect([again.added, again.removed, again.changed, again.unchanged]).toEqual([0, 0, 0, 10]);
    expect(again.dataset.id).toBe(first.dataset.id);

    // Same size and mtime but different bytes: not re-read (still ok, old hash).
    const st = statSync(victim);
    const oldHash = s.db.prepare('SELECT hash FROM images WHERE rel_path = ?').pluck().get('coat/img-0.png');
    writeFileSync(victim, Buffer.alloc(st.size, 0x41));
    utimesSync(victim, fixed, fixed);
    const notReread = await scanDataset(s.db, { root: t.dir, workers: 0 });
    expect(notReread.unchanged).toBe(10);
    expect(s.db.prepare('SELECT hash, status FROM images WHERE rel_path = ?').get('coat/img-0.png')).toEqual({ hash: oldHash, status: 'ok' });

    // A new mtime: re-read, now corrupt. Plus one added, one removed, one rewritten with another image.
    utimesSync(victim, fixed, new Date(fixed.getTime() + 5000));
    writeFileSync(join(t.dir, 'dress/new.png'), await encodeFashion('dress', 40, 'png'));
    rmSync(join(t.dir, 'dress/img-4.png'));
    writeFileSync(join(t.dir, 'coat/img-1.png'), await encodeFashion('coat', 41, 'png'));
    const r = await scanDataset(s.db, { root: t.dir, workers: 0 });
    expect([r.added, r.removed, r.changed, r.unchanged]).toEqual([1, 1, 2, 7]);
    expect(r.corrupt).toEqual([{ path: 'coat/img-0.png', reason: expect.stringMatching(/not an image/) }]);
    expect(r.images).toBe(9);
  });

  it('keeps an exclusion across rescans, and moving a file to another class relabels it', async () => {
    const t = tempDir('mixup-move-');
    cleanups.push(t.cleanup);
    await plainTree(t.dir, ['coat', 'dress'], 3);
    const s = home();
    const r1 = await scanDataset(s.db, { root: t.dir, workers: 0 });
    s.db.prepare("UPDATE images SET excluded_reason = 'blurry' WHERE rel_path = 'coat/img-2.png'").run();
    renameSync(join(t.dir, 'coat/img-0.png'), join(t.dir, 'dress/moved.png'));
    const r2 = await scanDataset(s.db, { root: t.dir, workers: 0 });
    expect([r2.added, r2.removed, r2.unchanged]).toEqual([1, 1, 5]);
    expect(r2.excluded).toEqual([{ path: 'coat/img-2.png', reason: 'blurry' }]);
    expect(r2.classes.map((c) => [c.name, c.count])).toEqual([
      ['coat', 1],
      ['dress', 4],
    ]);
    expect(r1.images).toBe(6);
  });
});

describe('splits', () => {
  it('are stratified (round(n*f) val per class), deterministic per seed, and differ across seeds', async () => {
    const t = tempDir('mixup-split-');
    cleanups.push(t.cleanup);
    await plainTree(t.dir, ['bag', 'coat', 'shirt'], 10);
    const a = home();
    const b = home();
    const c = home();
    const ra = await scanDataset(a.db, { root: t.dir, valFraction: 0.3, seed: 5, workers: 0 });
    const rb = await scanDataset(b.db, { root: t.dir, valFraction: 0.3, seed: 5, workers: 0 });
    const rc = await scanDataset(c.db, { root: t.dir, valFraction: 0.3, seed: 6, workers: 0 });
    for (const cls of ra.classes) expect(cls.splits).toEqual({ train: 7, val: 3, test: 0 });
    expect(splitsOf(a.db, ra.dataset.id)).toEqual(splitsOf(b.db, rb.dataset.id));
    expect(splitsOf(a.db, ra.dataset.id)).not.toEqual(splitsOf(c.db, rc.dataset.id));
  });

  it('stay stable when files are added or removed: every file keeps its split, new files fill the class quota', async () => {
    const t = tempDir('mixup-stable-');
    cleanups.push(t.cleanup);
    await plainTree(t.dir, ['bag', 'coat'], 10);
    const s = home();
    const r1 = await scanDataset(s.db, { root: t.dir, valFraction: 0.2, seed: 1, workers: 0 });
    const before = splitsOf(s.db, r1.dataset.id);
    // Remove two files (one val, one train in bag) and add ten new ones to coat.
    const bagVal = [...before].find(([p, sp]) => p.startsWith('bag/') && sp === 'val')![0];
    const bagTrain = [...before].find(([p, sp]) => p.startsWith('bag/') && sp === 'train')![0];
    rmSync(join(t.dir, bagVal));
    rmSync(join(t.dir, bagTrain));
    await plainTree(t.dir, ['coat'], 10, 100);
    const r2 = await scanDataset(s.db, { root: t.dir, valFraction: 0.2, seed: 1, workers: 0 });
    const after = splitsOf(s.db, r2.dataset.id);
    for (const [p, sp] of before) if (p !== bagVal && p !== bagTrain) expect(after.get(p), p).toBe(sp);
    expect(r2.classes.find((c) => c.name === 'coat')!.splits).toEqual({ train: 16, val: 4, test: 0 });
    // A changed --seed re-splits from scratch, deterministically.
    const r3 = await scanDataset(s.db, { root: t.dir, valFraction: 0.2, seed: 2, workers: 0 });
    expect(r3.classes.find((c) => c.name === 'coat')!.splits.val).toBe(4);
  });

  it('recognises train/val/test folders', async () => {
    const t = tempDir('mixup-splitdirs-');
    cleanups.push(t.cleanup);
    const st = await buildSplitTree(t.dir);
    const s = home();
    const r = await scanDataset(s.db, { root: st.root, workers: 0 });
    expect(r.classes).toEqual([
      { name: 'coat', count: 8, splits: { train: 4, val: 2, test: 2 } },
      { name: 'dress', count: 8, splits: { train: 4, val: 2, test: 2 } },
    ]);
    const rows = splitsOf(s.db, r.dataset.id);
    for (const f of st.files) expect(rows.get(f.rel)).toBe(f.split);
  });

  it('reads a CSV manifest (quotes, optional split) and reports each bad row by line', async () => {
    const t = tempDir('mixup-manifest-');
    cleanups.push(t.cleanup);
    const m = await buildManifestTree(t.dir);
    const s = home();
    const r = await scanDataset(s.db, { root: m.root, manifest: m.manifest, workers: 0 });
    expect(r.images).toBe(m.good.length);
    const rows = splitsOf(s.db, r.dataset.id);
    for (const g of m.good) {
      expect(rows.has(g.rel), g.rel).toBe(true);
      if (g.split) expect(rows.get(g.rel), g.rel).toBe(g.split);
    }
    expect(rows.has('img/unlisted.png')).toBe(false);
    const bad = r.skipped.filter((x) => /manifest\.csv line/.test(x.reason));
    expect(bad.map((x) => Number(/line (\d+)/.exec(x.reason)![1])).sort((a, b) => a - b)).toEqual(m.badRows);
    expect(bad.map((x) => x.reason).join('\n')).toMatch(/file not found: img\/missing\.png/);
    expect(bad.map((x) => x.reason).join('\n')).toMatch(/empty label/);
    expect(bad.map((x) => x.reason).join('\n')).toMatch(/unknown split 'holdout'/);
  });

  it('reads a manifest whose header orders the columns label,split,path, rows with the split left out included (found by review: read by position)', async () => {
    const t = tempDir('mixup-manifest-order-');
    cleanups.push(t.cleanup);
    const m = await buildManifestTree(t.dir);
    const good = (m.good as { rel: string; cls: string }[]).slice(0, 4);
    const lines = ['label,split,path', ...good.map((g, i: number) => (i % 2 ? `${g.cls},train,${g.rel}` : `${g.cls},,${g.rel}`))];
    // A row of two fields under a three-column header: label and split, its path missing.
    lines.push(`${good[0]!.cls},val`);
    const manifest = join(t.dir, 'reordered.csv');
    writeFileSync(manifest, `${lines.join('\n')}\n`);
    const s = home();
    const r = await scanDataset(s.db, { root: m.root, manifest, workers: 0 });
    expect(r.images).toBe(4);
    const rows = splitsOf(s.db, r.dataset.id);
    for (const [i, g] of good.entries()) {
      expect(rows.has(g.rel), g.rel).toBe(true);
      if (i % 2) expect(rows.get(g.rel)).toBe('train');
    }
    expect(r.skipped.map((x) => x.reason)).toEqual([expect.stringMatching(/reordered\.csv line 6: empty path/)]);
  });
});

describe('cancel and crash consistency', () => {
  it('a cancelled scan throws "cancelled", leaves committed rows valid, and the next scan completes it', async () => {
    const t = tempDir('mixup-cancel-');
    cleanups.push(t.cleanup);
    await plainTree(t.dir, ['bag', 'coat'], 20);
    const s = home();
    const ctl = new AbortController();
    await expect(
      scanDataset(s.db, { root: t.dir, workers: 0, batchSize: 8, signal: ctl.signal, afterBatch: (n) => n >= 16 && ctl.abort() }),
    ).rejects.toMatchObject({ kind: 'cancelled' });
    const partial = s.db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number;
    expect(partial).toBeGreaterThanOrEqual(16);
    expect(partial).toBeLessThan(40);
    expect(resolveDataset(s.db, 'mixup-cancel-' + t.dir.split('mixup-cancel-')[1]).scanState).toBe('scanning');
    const r = await scanDataset(s.db, { root: t.dir, workers: 0 });
    expect(r.images).toBe(40);
    expect(r.added + r.unchanged).toBe(40);
    expect(r.unchanged).toBe(partial);
    expect(r.classes.map((c) => c.splits.val)).toEqual([4, 4]);
    expect(resolveDataset(s.db, r.dataset.id).scanState).toBe('complete');
  });

  it('a scan killed with SIGKILL midway leaves a consistent database that the next scan completes', async () => {
    const t = tempDir('mixup-kill-');
    cleanups.push(t.cleanup);
    const data = join(t.dir, 'data');
    await plainTree(data, ['bag', 'coat', 'dress'], 20);
    const homeDir = join(t.dir, 'home');
    const script = join(t.dir, 'kill.mts');
    writeFileSync(
      script,
      `import { openServices } from ${JSON.stringify(resolve('src-main/db/open-home.ts'))};
import { scanDataset } from ${JSON.stringify(resolve('src-main/datasets/scan.ts'))};
const s = openServices({ home: ${JSON.stringify(homeDir)} });
await scanDataset(s.db, { root: ${JSON.stringify(data)}, workers: 0, batchSize: 10, afterBatch: (n) => { if (n >= 20) process.kill(process.pid, 'SIGKILL'); } });
console.log('not killed');`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: resolve('.'), encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).not.toMatch(/not killed/);
    const s = openServices({ home: homeDir });
    cleanups.push(() => s.close());
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const partial = s.db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number;
    expect(partial).toBeGreaterThanOrEqual(20);
    expect(partial).toBeLessThan(60);
    expect(s.db.prepare('SELECT scan_state FROM datasets').pluck().get()).toBe('scanning');
    const r = await scanDataset(s.db, { root: data, workers: 0 });
    expect([r.images, r.unchanged, r.added]).toEqual([60, partial, 60 - partial]);
    expect(r.classes.map((c) => c.splits)).toEqual([
      { train: 16, val: 4, test: 0 },
      { train: 16, val: 4, test: 0 },
      { train: 16, val: 4, test: 0 },
    ]);
    expect(s.db.prepare("SELECT COUNT(*) FROM images WHERE split_source = 'pending'").pluck().get()).toBe(0);
    void readFileSync;
  });
});

describe('bad input', () => {
  it('skips a file or folder whose name is not valid UTF-8 with a message that says so, in either walk, beside a valid twin name', async () => {
    const t = tempDir('mixup-badname-');
    cleanups.push(t.cleanup);
    await plainTree(t.dir, ['bag'], 2);
    const png = readFileSync(join(t.dir, 'bag', 'img-0.png'));
    // Raw bytes 0xFF 0xFE in the names: not UTF-8 (Linux keeps names as bytes).
    const bad = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0xff, 0xfe]), Buffer.from('.png')]);
    writeFileSync(Buffer.concat([Buffer.from(join(t.dir, 'bag') + '/'), bad('photo')]), png);
    mkdirSync(Buffer.concat([Buffer.from(t.dir + '/'), bad('class')]));
    // And a valid name that decodes to the same text (real U+FFFD characters): it is indexed, once.
    writeFileSync(join(t.dir, 'bag', 'photo\uFFFD\uFFFD.png'), readFileSync(join(t.dir, 'bag', 'img-1.png')));
    const s = home();
    for (const walk of ['1', '0', '1', '0']) {
      process.env.MIXUP_STUDIO_FAST_WALK = walk;
      try {
        const r = await scanDataset(s.db, { root: t.dir, workers: 0 });
        expect(r.images).toBe(3);
        const reasons = r.skipped.filter((x) => x.path.includes('\uFFFD'));
        expect(reasons.map((x) => x.path).sort(), walk).toEqual(['bag/photo\uFFFD\uFFFD.png', 'class\uFFFD\uFFFD.png']);
        for (const x of reasons) expect(x.reason).toMatch(/not valid UTF-8.*rename it/);
      } finally {
        delete process.env.MIXUP_STUDIO_FAST_WALK;
      }
    }
  });

  it('names the folder that does not exist, and refuses a --name taken by another folder', async () => {
    const s = home();
    await expect(scanDataset(s.db, { root: '/nonexistent/dir' })).rejects.toThrow(/\/nonexistent\/dir does not exist/);
    await scanDataset(s.db, { root: tree.root, name: 'mine', workers: 0 });
    const other = tempDir('mixup-other-');
    cleanups.push(other.cleanup);
    await expect(scanDataset(s.db, { root: other.dir, name: 'mine' })).rejects.toThrow(/'mine' is indexed from .*choose another --name/);
    await expect(scanDataset(s.db, { root: tree.root, valFraction: 1.5 })).rejects.toThrow(/val-fraction/);
  });
});

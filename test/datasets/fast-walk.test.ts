import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fastWalkAddon, SnapshotDiff } from '../../src-main/datasets/fast-walk';
import { scanDataset } from '../../src-main/datasets/scan';
import { encodeSnapshot, readSnapshot, snapshotOf, type Known } from '../../src-main/datasets/snapshot';
import { tempDir, tempServicesIn } from '../helpers/temp';
// @ts-expect-error plain JS fixture builder
import { buildClassTree, buildSplitTree, encodeFashion } from '../fixtures/dataset-trees.mjs';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((f) => f()));
afterEach(() => {
  delete process.env.MIXUP_STUDIO_FAST_WALK;
  vi.restoreAllMocks();
});

const home = () => tempServicesIn(cleanups);
const base = () => {
  const t = tempDir('mixup-fastwalk-');
  cleanups.push(t.cleanup);
  return t.dir;
};

/** The addon as the scan loads it. CI and this machine build it (Linux, a C compiler): it must be there. */
function addon() {
  const a = fastWalkAddon();
  if (!a) throw new Error('the native folder diff (native/fastwalk) did not load: run `npm rebuild mixup-studio-fastwalk`');
  return a;
}

/** A scan with the native folder diff on or off; `used` counts the folders the diff answered. */
async function scan(db: any, root: string, fast: boolean) {
  process.env.MIXUP_STUDIO_FAST_WALK = fast ? '1' : '0';
  const spy = vi.spyOn(SnapshotDiff.prototype, 'folder');
  try {
    const r = await scanDataset(db, { root, workers: 0 });
    const used = spy.mock.results.filter((x) => Array.isArray(x.value)).length;
    return { r, used };
  } finally {
    spy.mockRestore();
    delete process.env.MIXUP_STUDIO_FAST_WALK;
  }
}

/** Everything a scan writes that a user can see: rows (ids included, so the insertion order too) and issues. */
function state(db: any, datasetId: number) {
  const rows = db
    .prepare(
      `SELECT i.id, i.rel_path, i.bytes, i.mtime_ms, c.name, i.split, i.split_source, i.hash, i.format, i.width, i.status, i.reason
       FROM images i JOIN classes c ON c.id = i.class_id WHERE i.dataset_id = ? ORDER BY i.rel_path`,
    )
    .raw()
    .all(datasetId);
  const issues = db.prepare('SELECT rel_path, kind, reason FROM scan_issues WHERE dataset_id = ? ORDER BY id').raw().all(datasetId);
  return { rows, issues };
}
const counts = (r: { added: number; removed: number; changed: number; unchanged: number }) => [r.added, r.removed, r.changed, r.unchanged];

describe('native folder diff (mixup-studio-fastwalk)', () => {
  it('loads here, as on CI (Linux with a C compiler)', () => {
    expect(typeof addon().diff).toBe('function');
    process.env.MIXUP_STUDIO_FAST_WALK = '0';
    expect(fastWalkAddon()).toBeUndefined();
  });

  it('groups a snapshot by folder, and refuses one whose folders are interleaved or whose text does not fit the count', () => {
    const rows = (rels: string[]): Known[] => rels.map((r, i) => [r, i + 1, 1, 1, 1, 'train', 'auto']);
    const grouped = encodeSnapshot(rows(['a/1.png', 'a/2.png', 'b/ü.png', 'top.png', 'a/x/1.png']));
    expect(addon().groups(grouped.rels, 5)).toEqual(['a', 0, 2, 0, 'b', 2, 1, 16, '', 3, 1, 25, 'a/x', 4, 1, 33]);
    const interleaved = Buffer.from(['a/1.png', 'b/1.png', 'a/2.png'].join('\0'));
    expect(addon().groups(interleaved, 3)).toBeNull();
    expect(addon().groups(grouped.rels, 4)).toBeNull(); // more text than rows
    expect(addon().groups(Buffer.alloc(0), 0)).toEqual([]);
  });

  it('diffs one folder: counts unchanged known files, hands back the rest sorted as readdirSync sorts, says why a folder cannot be read', async () => {
    const dir = join(base(), 'cls');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const png = await encodeFashion('bag', 1, 'png');
    for (const name of ['b.png', 'a.png', 'ünï 猫.png', 'Z.png', 'new.png']) writeFileSync(join(dir, name), png);
    const known = ['a.png', 'b.png', 'ünï 猫.png', 'Z.png', 'gone.png'];
    const { statSync } = await import('node:fs');
    const rows: Known[] = known.map((name, i) => {
      const st = statSync(join(dir, name), { throwIfNoEntry: false });
      return [`cls/${name}`, i + 1, st?.size ?? 1, st?.mtimeMs ?? 1, 1, 'train', 'auto'];
    });
    rows[1][3] += 1; // b.png: a different mtime in the snapshot
    const { rels, nums } = encodeSnapshot(rows);
    const f64 = snapshotOf(rows.length, rels, nums)!.nums;
    const seen = new Uint8Array(rows.length);
    const res = addon().diff(dir, rels, 0, rows.length, 0, 4, f64, seen);
    // a.png, Z.png and the unicode name are unchanged; b.png (mtime) and new.png (unknown) and sub/ come back.
    expect(res).toEqual([3, 'b.png', 0, 1, 'new.png', 0, -1, 'sub', 1, -1]);
    expect([...seen]).toEqual([1, 0, 1, 1, 0]);
    const order = readdirSync(dir).filter((n) => ['b.png', 'new.png', 'sub'].includes(n));
    expect(order).toEqual(['b.png', 'new.png', 'sub']);
    expect(addon().diff(join(dir, 'missing'), rels, 0, 0, 0, 0, f64, seen)).toBe('ENOENT');
    expect(addon().diff(join(dir, 'a.png'), rels, 0, 0, 0, 0, f64, seen)).toBe('ENOTDIR');
    expect(() => addon().diff(dir, rels, 0, rows.length + 1, 0, 4, f64, seen)).toThrow(/out of bounds/);
  });

  for (const layout of ['class folders (every bad file and link case)', 'split folders'] as const) {
    it(`gives the same counts, rows, ids and issues as the JavaScript walk over edits, adds, removes and moves: ${layout}`, async () => {
      const dir = base();
      const root = layout.startsWith('class') ? (await buildClassTree(dir)).root : (await buildSplitTree(dir)).root;
      const fast = home();
      const slow = home();
      const both = async () => {
        const a = await scan(fast.db, root, true);
        const b = await scan(slow.db, root, false);
        expect(counts(a.r)).toEqual(counts(b.r));
        expect(state(fast.db, a.r.dataset.id)).toEqual(state(slow.db, b.r.dataset.id));
        return a;
      };
      await both(); // first scans: nothing to diff against
      const unchangedRescan = await both();
      expect(unchangedRescan.used).toBeGreaterThan(2);
      expect(unchangedRescan.r.added + unchangedRescan.r.changed + unchangedRescan.r.removed).toBe(0);

      // Edits of every kind, then two rescans (the second with nothing changed).
      const files = (fast.db.prepare("SELECT rel_path FROM images WHERE status = 'ok' ORDER BY rel_path").pluck().all() as string[]).filter(
        (r) => !r.includes('outside-link'),
      );
      const classOf = (rel: string) => rel.split('/').slice(0, layout.startsWith('class') ? 1 : 2).join('/');
      const [edit, touch, remove, move] = [files[0], files[3], files[5], files[7]];
      appendFileSync(join(root, edit), Buffer.from('trailing bytes'));
      const when = new Date('2026-01-02T03:04:05.678Z');
      utimesSync(join(root, touch), when, when);
      rmSync(join(root, remove));
      const target = files.map(classOf).find((c) => c !== classOf(move))!;
      renameSync(join(root, move), join(root, target, 'moved-here.png'));
      writeFileSync(join(root, classOf(files[1]), 'brand-new.png'), await encodeFashion('coat', 40, 'png'));
      const newClass = layout.startsWith('class') ? 'new-class' : 'train/new-class';
      mkdirSync(join(root, newClass), { recursive: true });
      writeFileSync(join(root, newClass, 'one.png'), await encodeFashion('coat', 41, 'png'));
      writeFileSync(join(root, classOf(files[2]), '.hidden-new.png'), Buffer.from('x'));
      const edited = await both();
      expect(counts(edited.r)).toEqual([3, 2, 2, unchangedRescan.r.unchanged - 4]);
      const again = await both();
      expect(again.used).toBeGreaterThan(2);
      expect(counts(again.r)).toEqual([0, 0, 0, unchangedRescan.r.unchanged + 1]);

      // A whole class folder removed: its rows go, in both walks alike.
      rmSync(join(root, classOf(files[files.length - 1])), { recursive: true });
      const gone = await both();
      expect(gone.r.removed).toBeGreaterThan(0);
    });
  }

  it('agrees with the JavaScript walk where the file system reports no entry types (DT_UNKNOWN), bad names included', async () => {
    const dir = base();
    // The shim makes every readdir/scandir entry DT_UNKNOWN (test/fixtures/dt-unknown.c).
    const shim = join(dir, 'dt-unknown.so');
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', shim, resolve('test/fixtures/dt-unknown.c'), '-ldl'], { encoding: 'utf8' });
    expect(cc.status, `cc: ${cc.stderr}`).toBe(0);
    const root = join(dir, 'data');
    for (const [cls, source] of [['cats', 'bag'], ['dogs', 'coat']]) {
      mkdirSync(join(root, cls), { recursive: true });
      for (let k = 0; k < 3; k++) writeFileSync(join(root, cls, `${k}.png`), await encodeFashion(source, k, 'png'));
    }
    const script = join(dir, 'walks.mts');
    writeFileSync(
      script,
      `import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { openServices } from ${JSON.stringify(resolve('src-main/db/open-home.ts'))};
import { fastWalkAddon } from ${JSON.stringify(resolve('src-main/datasets/fast-walk.ts'))};
import { scanDataset } from ${JSON.stringify(resolve('src-main/datasets/scan.ts'))};
const root = ${JSON.stringify(root)};
const homes = { fast: openServices({ home: ${JSON.stringify(join(dir, 'home-fast'))} }), slow: openServices({ home: ${JSON.stringify(join(dir, 'home-slow'))} }) };
const steps = [];
const both = async (label) => {
  const out = { label };
  for (const [mode, s] of Object.entries(homes)) {
    process.env.MIXUP_STUDIO_FAST_WALK = mode === 'fast' ? '1' : '0';
    const r = await scanDataset(s.db, { root, workers: 0 });
    out[mode] = {
      counts: [r.added, r.removed, r.changed, r.unchanged],
      rows: s.db.prepare('SELECT id, rel_path, bytes, mtime_ms, status FROM images ORDER BY rel_path').raw().all(),
      issues: s.db.prepare('SELECT rel_path, kind, reason FROM scan_issues ORDER BY id').raw().all(),
    };
  }
  steps.push(out);
};
await both('first');
await both('unchanged');
writeFileSync(Buffer.concat([Buffer.from(root + '/cats/bad'), Buffer.from([0xff]), Buffer.from('.png')]), 'x');
writeFileSync(root + '/dogs/notes.txt', 'x');
rmSync(root + '/dogs/1.png');
appendFileSync(root + '/cats/2.png', 'more');
await both('edited');
await both('unchanged again');
process.env.MIXUP_STUDIO_FAST_WALK = '1';
console.log(JSON.stringify({ addon: fastWalkAddon() !== undefined, steps }));`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: resolve('.'), encoding: 'utf8', env: { ...process.env, LD_PRELOAD: shim } });
    expect(child.status, child.stderr).toBe(0);
    const { addon: loaded, steps } = JSON.parse(child.stdout.trim().split('\n').pop()!);
    expect(loaded).toBe(true);
    for (const step of steps) expect(step.fast, step.label).toEqual(step.slow);
    expect(steps.map((x: any) => x.fast.counts)).toEqual([
      [6, 0, 0, 0],
      [0, 0, 0, 6],
      [0, 1, 1, 4],
      [0, 0, 0, 5],
    ]);
    const reasons = steps[2].fast.issues.map((i: string[]) => `${i[0]}: ${i[2]}`);
    expect(reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^cats\/bad\uFFFD\.png: name is not valid UTF-8/), 'dogs/notes.txt: not an image extension (.txt)']));
  });

  it('rewrites a snapshot an older version wrote (not grouped by folder) so that the next rescan can use the diff', async () => {
    const dir = base();
    const root = (await buildSplitTree(dir)).root;
    const s = home();
    const { r } = await scan(s.db, root, true);
    // Interleave the folders, as the previous format (row order) could.
    const snap = readSnapshot(s.db, r.dataset.id)!;
    const rels = snap.rels.toString().split('\0');
    const order = rels.map((_, i) => i).sort((x, y) => (x % 2) - (y % 2) || x - y);
    const nums = new Float64Array(snap.nums.length);
    order.forEach((from, to) => nums.set(snap.nums.subarray(from * 5, from * 5 + 5), to * 5));
    s.db
      .prepare('UPDATE scan_snapshots SET rels = ?, nums = ? WHERE dataset_id = ?')
      .run(Buffer.from(order.map((i) => rels[i]).join('\0')), Buffer.from(nums.buffer), r.dataset.id);
    expect(SnapshotDiff.open(readSnapshot(s.db, r.dataset.id)!)).toBeUndefined();
    const old = await scan(s.db, root, true);
    expect([old.used, old.r.unchanged]).toEqual([0, r.images]);
    expect(SnapshotDiff.open(readSnapshot(s.db, r.dataset.id)!)).toBeDefined();
    const next = await scan(s.db, root, true);
    expect(next.used).toBeGreaterThan(0);
    expect(next.r.unchanged).toBe(r.images);
  });
});

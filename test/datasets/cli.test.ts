import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
// @ts-expect-error plain JS fixture builder
import { buildClassTree } from '../fixtures/dataset-trees.mjs';

let base: { dir: string; cleanup(): void };
let root: string;
let goodCount: number;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  base = tempDir('mixup-cli-');
  const t = await buildClassTree(base.dir, { perClass: 3 });
  root = t.root;
  goodCount = t.good.length;
});
afterAll(() => {
  cleanups.forEach((f) => f());
  base.cleanup();
});

describe('mixup-studio index / datasets / dataset / verify (CLI.md shapes)', () => {
  it('index --json prints exactly the CLI.md document; rescan counts; datasets, show, exclude, include, verify', async () => {
    const home = join(base.dir, 'home');
    const r = await runCli(['--json', 'index', root, '--name', 'fx', '--val-fraction', '0.25', '--seed', '3'], { home });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json();
    for (const key of ['dataset', 'images', 'classes', 'corrupt', 'skipped', 'duplicates', 'added', 'removed', 'changed', 'unchanged', 'seconds']) {
      expect(doc, key).toHaveProperty(key);
    }
    expect(Object.keys(doc.dataset).sort()).toEqual(['id', 'name', 'root']);
    expect(doc.dataset.name).toBe('fx');
    expect(doc.images).toBe(goodCount);
    expect(doc.classes[0]).toEqual({ name: 'bag', count: expect.any(Number), splits: expect.any(Object) });
    expect(doc.corrupt[0]).toEqual({ path: expect.any(String), reason: expect.any(String) });
    expect(doc.skipped[0]).toEqual({ path: expect.any(String), reason: expect.any(String) });
    expect(doc.duplicates[0]).toMatchObject({ hash: expect.any(String), paths: expect.any(Array), classes: ['t-shirt', 'trouser'] });
    expect(doc.added).toBe(goodCount + doc.corrupt.length);
    expect(typeof doc.seconds).toBe('number');

    const again = (await runCli(['--json', 'index', root, '--name', 'fx', '--val-fraction', '0.25', '--seed', '3'], { home })).json();
    expect([again.added, again.removed, again.changed, again.unchanged]).toEqual([0, 0, 0, doc.added]);

    const list = (await runCli(['--json', 'datasets'], { home })).json();
    expect(list).toEqual([
      expect.objectContaining({ id: doc.dataset.id, name: 'fx', root: doc.dataset.root, images: goodCount, classes: doc.classes.length, corrupt: doc.corrupt.length, verified: false }),
    ]);
    for (const k of ['createdAt', 'updatedAt']) expect(list[0][k]).toMatch(/^\d{4}-\d\d-\d\dT/);

    const ex = await runCli(['--json', 'dataset', 'exclude', 'fx', 't-shirt/dup-b.png', '--reason', 'label conflict: it is a trouser'], { home });
    expect(ex.json()).toEqual({ changed: 1 });
    const human = await runCli(['dataset', 'show', String(doc.dataset.id)], { home });
    expect(human.stdout).toMatch(/excluded \(1\):\n  t-shirt\/dup-b\.png: label conflict/);
  });

  it('the built CLI (npm run build): index --verify runs both passes in the bundled workers; errors name the culprit', async () => {
    const home = join(base.dir, 'home2');
    const r = await runCli(['--json', 'index', root, '--verify'], { home, built: true });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json();
    expect(doc.verify).toEqual({ verified: goodCount, corrupt: [], unreadable: [], seconds: expect.any(Number) });
    expect(doc.dataset.name).toBe('tree');

    const missing = await runCli(['--json', 'dataset', 'show', 'nope'], { home, built: true });
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no dataset 'nope'/);
    const noDir = await runCli(['index', join(base.dir, 'no-such-dir')], { home, built: true });
    expect(noDir.code).not.toBe(0);
    expect(noDir.stderr).toMatch(/no-such-dir does not exist/);
  });
});

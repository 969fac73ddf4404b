/**
 * The curation words through the built command: `curate DATASET --backbone NAME --json` prints CLI.md's
 * document (paths relative to the dataset root) with progress on stderr; `dataset relabel`, `curation keep |
 * accept | dismiss | undo | log | show`; bad input refused with one stderr line naming the flag, class or
 * backbone at fault, and nothing changed.
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir } from '../helpers/temp';

const sample = join(resolve(__dirname, '..', '..'), 'resources', 'sample', 'fashion-mnist');
const CLASSES = ['bag', 'coat', 'sandal', 'shirt'];

describe('mixup-studio curate / curation', () => {
  let home: ReturnType<typeof tempDir>;
  let files: ReturnType<typeof tempDir>;
  const cli = (args: string[]) => runCli(args, { home: home.dir, built: true });

  beforeAll(async () => {
    home = tempDir('mixup-cli-home-');
    files = tempDir('mixup-cli-files-');
    for (const cls of CLASSES) {
      mkdirSync(join(files.dir, 'shop', cls), { recursive: true });
      for (const f of readdirSync(join(sample, cls)).slice(0, 30)) cpSync(join(sample, cls, f), join(files.dir, 'shop', cls, f));
    }
    writeTestBackbone(join(files.dir, 'net.onnx'), { channels: 1, size: [28, 28], dim: 16, pool: 'flatten' });
    expect((await cli(['index', join(files.dir, 'shop'), '--name', 'shop'])).code).toBe(0);
    expect((await cli(['backbone', 'import', join(files.dir, 'net.onnx'), '--name', 'net', '--mean', '0', '--std', '1', '--resize', 'fill'])).code).toBe(0);
  });

  afterAll(() => {
    home?.cleanup();
    files?.cleanup();
  });

  it('curate --json prints the CLI.md document, with progress on stderr; curation show gives it back with each finding’s status', async () => {
    const r = await cli(['curate', 'shop', '--backbone', 'net', '--folds', '3', '--seed', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json();
    for (const k of ['images', 'labelIssues', 'nearDuplicates', 'outliers', 'pairs', 'seconds']) expect(doc).toHaveProperty(k);
    expect(doc.images).toBe(120);
    expect(doc.pairs.length).toBe(6);
    expect(Object.keys(doc.pairs[0])).toEqual(expect.arrayContaining(['a', 'b', 'score', 'confusion', 'suggestion']));
    for (const f of doc.outliers) expect(f.path).toMatch(/^(bag|coat|sandal|shirt)\/[^/]+$/);
    expect(doc.params).toMatchObject({ folds: 3, seed: 2 });
    expect(r.stderr).toMatch(/folds|neighbours/);

    const show = await cli(['curation', 'show', 'shop', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const view = show.json();
    expect(view.stale).toBe(false);
    expect(view.outliers[0]).toMatchObject({ path: doc.outliers[0].path, status: 'open' });
    const text = await cli(['curation', 'show', 'shop']);
    expect(text.stdout).toMatch(/^shop × net: 120 images/);
    expect(text.stdout).toContain('most confusable pairs:');
  });

  it('relabel, keep, accept, dismiss and undo from the command line; the log lists them', async () => {
    const path = 'coat/' + readdirSync(join(files.dir, 'shop', 'coat')).sort()[0];
    const rel = await cli(['dataset', 'relabel', 'shop', path, '--class', 'shirt']);
    expect(rel.code, rel.stderr).toBe(0);
    expect(rel.stdout.trim()).toBe('relabelled 1 image as shirt');
    const shown = (await cli(['dataset', 'show', 'shop', '--json'])).json();
    expect(shown.classes.find((c: any) => c.name === 'shirt').count).toBe(31);

    expect((await cli(['curation', 'keep', 'shop', path, '--as', 'outlier'])).code).toBe(0);
    const acc = await cli(['curation', 'accept', 'shop', 'coat', 'shirt', '--weight', '0.4']);
    expect(acc.code, acc.stderr).toBe(0);
    expect(acc.stdout).toMatch(/^set coat × shirt to weight 0.4: curation \(net\): /);
    expect((await cli(['policy', 'list', 'shop', '--json'])).json()).toEqual([expect.objectContaining({ a: 'coat', b: 'shirt', weight: 0.4 })]);
    expect((await cli(['curation', 'dismiss', 'shop', 'bag', 'sandal'])).code).toBe(0);

    const log = (await cli(['curation', 'log', 'shop', '--json'])).json();
    expect(log.map((e: any) => e.action)).toEqual(['mark', 'policy', 'mark', 'relabel']);
    for (let i = 0; i < 4; i++) expect((await cli(['curation', 'undo', 'shop'])).stdout).toMatch(/^undid: /);
    expect((await cli(['curation', 'undo', 'shop'])).stdout.trim()).toBe('nothing to undo');
    expect((await cli(['policy', 'list', 'shop', '--json'])).json()).toEqual([]);
    expect((await cli(['dataset', 'show', 'shop', '--json'])).json().classes.find((c: any) => c.name === 'shirt').count).toBe(30);
  });

  it('refuses bad input with one stderr line naming what is wrong, and changes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['curate', 'shop', '--backbone', 'nope'], /backbone 'nope' is not imported/],
      [['curate', 'shop', '--backbone', 'net', '--folds', '1'], /--folds: must be ≥ 2/],
      [['curate', 'shop', '--backbone', 'net', '--duplicate-threshold', 'high'], /--duplicate-threshold: expected a number, got 'high'/],
      [['curate', 'nowhere', '--backbone', 'net'], /no dataset 'nowhere'/],
      [['dataset', 'relabel', 'shop', 'bag/x.png', '--class', 'shirt'], /not in the dataset: bag\/x.png/],
      [['dataset', 'relabel', 'shop', 'coat/any.png', '--class', 'hat'], /class 'hat' is not in dataset 'shop'/],
      [['dataset', 'relabel', 'shop', 'coat/any.png'], /give --class NAME or --restore/],
      [['curation', 'accept', 'shop', 'bag', 'hat'], /no pair bag × hat/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await cli(['curation', 'log', 'shop', '--json'])).json().filter((e: any) => !e.undoneAt)).toEqual([]);
  });
});

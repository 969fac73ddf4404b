import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
import { sampleSubset } from './fixture';

const t = tempDir('mixup-train-cli-');
const home = join(t.dir, 'home');
const cfg = (name: string, body: unknown) => {
  const file = join(t.dir, name);
  writeFileSync(file, JSON.stringify(body));
  return file;
};

beforeAll(async () => {
  sampleSubset(join(t.dir, 'fm'), 12);
  const r = await runCli(['--json', 'index', join(t.dir, 'fm'), '--name', 'fm'], { home });
  expect(r.code).toBe(0);
}, 120_000);
afterAll(() => t.cleanup());

describe('mixup-studio train / runs', () => {
  it('fails a bad config with exit 2 and one stderr line naming the file and the field, before any run', async () => {
    const bad = cfg('bad.json', { epochs: 2, mixup: { alpha: -1 } });
    const r = await runCli(['train', 'fm', '--config', bad], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: mixup\.alpha: must be ≥ 0 \(got -1\)/);
    expect(r.stdout).toBe('');
    const list = await runCli(['--json', 'runs', 'list'], { home });
    expect(list.json()).toEqual([]);
  }, 60_000);

  it('trains with --json: one document with run, status, backend, epochs, metrics; progress and the policy note on stderr', async () => {
    const good = cfg('good.json', {
      seed: 1,
      epochs: 2,
      batchSize: 16,
      model: { arch: 'cnn-small', inputSize: [10, 10], channels: 1 },
      mixup: { alpha: 0.3 },
      policy: { pairs: [{ a: 'shirt', b: 't-shirt', weight: 0 }] },
    });
    const r = await runCli(['--json', 'train', 'fm', '--config', good, '--backend', 'wasm'], { home, timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json();
    expect(doc).toMatchObject({ run: { id: 1 }, status: 'completed', backend: 'wasm' });
    expect(doc.epochs).toHaveLength(2);
    for (const e of doc.epochs) {
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['epoch', 'trainLoss', 'valLoss', 'valAccuracy', 'ece', 'mixup']));
      expect(Object.keys(e.mixup)).toEqual(expect.arrayContaining(['active', 'alpha', 'prob']));
    }
    expect(doc.metrics).toEqual({ valAccuracy: doc.epochs[1].valAccuracy, valLoss: doc.epochs[1].valLoss, ece: doc.epochs[1].ece, nll: doc.epochs[1].nll, temperature: expect.any(Number), eceCalibrated: expect.any(Number) });
    expect(r.stderr).toMatch(/pair policy snapshot .* differs from dataset 'fm'/);
    expect(r.stderr).toMatch(/epoch 2\/2/);

    const list = (await runCli(['--json', 'runs', 'list'], { home })).json();
    expect(list).toHaveLength(1);
    expect(Object.keys(list[0])).toEqual(expect.arrayContaining(['id', 'dataset', 'status', 'createdAt', 'metrics']));
    const show = (await runCli(['--json', 'runs', 'show', '1'], { home })).json();
    expect(show.confusion).toHaveLength(10);
    expect(show.audit).toHaveLength(2);
    expect(show.config.policy.pairs).toEqual([{ a: 'shirt', b: 't-shirt', weight: 0, note: null }]);
    // The forbidden pair was never mixed.
    for (const a of show.audit) expect(a.pairs.filter((p: any) => [p.a, p.b].sort().join() === 'shirt,t-shirt')).toEqual([]);
    const human = await runCli(['runs', 'show', '1'], { home });
    expect(human.stdout).toMatch(/confusion \(rows: true class/);
    const cancel = await runCli(['runs', 'cancel', '1'], { home });
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/run 1 is not running \(status completed\)/);
  }, 240_000);
});

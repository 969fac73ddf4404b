/**
 * A run on a frozen backbone (issue 13): `model.backbone` trains a head on the cached embeddings with MixUp at the
 * features point, through the same child process, loop, pair policy, audit and run record as any run; the
 * second run computes no embedding; the same seed gives the same epochs; what cannot apply to fixed embeddings is
 * refused naming the field, before any run exists. Real parts: an ONNX backbone run by onnxruntime, sharp,
 * tfjs on wasm, a SQLite home.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir, tempServices } from '../helpers/temp';
import { call, epochNumbers, sampleSplits } from '../training/fixture';

const services = tempServices();
const data = tempDir('mixup-head-data-');
const IMAGES = 10 * (20 + 6 + 4);

const config = {
  seed: 3,
  epochs: 4,
  batchSize: 32,
  model: { backbone: 'rand16' },
  optimizer: { name: 'adam', lr: 0.01 },
  mixup: { alpha: 0.4, offEpoch: 3 },
  policy: { pairs: [{ a: 'shirt', b: 't-shirt', weight: 0 }] },
};

beforeAll(async () => {
  sampleSplits(join(data.dir, 'fm'), { train: 20, val: 6, test: 4 });
  await call(services, 'datasets:index', { root: join(data.dir, 'fm'), name: 'fm' });
  const file = join(data.dir, 'rand16.onnx');
  writeTestBackbone(file, { channels: 1, size: [28, 28], dim: 16, seed: 11 });
  await call(services, 'backbones:import', { path: file, name: 'rand16', resize: 'fill', mean: [0.5], std: [0.25] });
}, 120_000);
afterAll(() => {
  services.cleanup();
  data.cleanup();
});

describe('training a head on a frozen backbone', () => {
  let first: any;

  it('embeds every image once, trains the head with MixUp under the pair policy, and records the run like any other', async () => {
    first = await call(services, 'runs:train', { dataset: 'fm', config, backend: 'wasm' });
    expect(first).toMatchObject({ status: 'completed', backend: 'wasm', embeddings: { computed: IMAGES, cached: 0 } });
    expect(first.epochs.map((e: any) => e.mixup.active)).toEqual([true, true, true, false]);
    expect(first.epochs[3].trainLoss).toBeLessThan(first.epochs[0].trainLoss);
    expect(first.metrics.valAccuracy).toBeGreaterThan(0.1); // above chance even on random 1×1 features
    const events = first.__events as { topic: string; data: any }[];
    const embed = events.filter((e) => e.topic === 'train.progress' && e.data.phase === 'embed');
    expect(embed.at(-1)!.data).toMatchObject({ done: IMAGES, total: IMAGES, label: 'embedding with rand16' });
    expect(events.find((e) => e.topic === 'train.embeddings')!.data).toMatchObject({ backbone: 'rand16', computed: IMAGES, cached: 0, dim: 16 });

    const show = await call(services, 'runs:show', { run: first.run.id });
    expect(show.config.model).toMatchObject({ backbone: 'rand16', fineTune: 'none', inputSize: [28, 28], channels: 1 });
    expect(show.preprocessing).toMatchObject({ inputSize: [28, 28], channels: 1, mean: [0.5], std: [0.25], resize: 'fill', layout: 'NCHW', backbone: { name: 'rand16', format: 'onnx', featureSize: 16 } });
    // The audit of a features run: mixed samples, and never the forbidden pair.
    expect(show.audit[0].mixedSamples).toBeGreaterThan(0);
    expect(show.audit[3].mixedSamples).toBe(0);
    for (const a of show.audit) {
      expect(a.pairs.find((p: any) => [p.a, p.b].sort().join('×') === 'shirt×t-shirt')).toBeUndefined();
      expect(a.samples).toBe(200);
    }
    expect(show.test.count).toBe(40);
  }, 180_000);

  it('a second run with the same seed computes no embedding and gives the same epochs', async () => {
    const again = await call(services, 'runs:train', { dataset: 'fm', config, backend: 'wasm' });
    expect(again.embeddings).toEqual({ computed: 0, cached: IMAGES });
    expect(epochNumbers(again.epochs)).toEqual(epochNumbers(first.epochs));
    expect(again.metrics).toEqual(first.metrics);
  }, 180_000);

  it('refuses what a frozen backbone cannot do, naming the field, before any run exists', async () => {
    const before = (await call<any[]>(services, 'runs:list', {})).length;
    for (const [patch, message] of [
      [{ model: { backbone: 'nope' } }, /model\.backbone: 'nope' is not imported \(imported: rand16\)/],
      [{ model: { backbone: 'rand16', fineTune: 'all' } }, /model\.fineTune: backbone 'rand16' is onnx: only a tfjs layers backbone can be fine-tuned/],
      [{ mixup: { alpha: 0.4, cutmixAlpha: 1 } }, /mixup\.cutmixAlpha: CutMix cuts boxes out of images/],
      [{ mixup: { alpha: 0.4, manifold: [0, 1] } }, /mixup\.manifold: with a frozen backbone MixUp mixes its embeddings/],
      [{ augment: { flip: true } }, /augment\.flip: a frozen backbone's embeddings are computed once per image/],
      [{ model: { backbone: 'rand16', inputSize: [32, 32] } }, /model\.inputSize: backbone 'rand16' takes \[28,28\], not \[32,32\]/],
    ] as const) {
      const bad = { ...config, ...patch, model: { ...config.model, ...(patch as any).model } };
      await expect(call(services, 'runs:train', { dataset: 'fm', config: bad, configSource: 'head.json', backend: 'wasm' })).rejects.toMatchObject({
        kind: 'input',
        message: expect.stringMatching(new RegExp(`^head\\.json: ${message.source}`)),
      });
    }
    expect(await call<any[]>(services, 'runs:list', {})).toHaveLength(before);
  }, 60_000);

  it('export says plainly that backbone + head as one model is not there yet', async () => {
    const out = join(data.dir, 'export');
    await expect(call(services, 'runs:export', { run: first.run.id, out })).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringMatching(/trained a head on backbone 'rand16': exporting backbone \+ head as one model is not supported yet/),
    });
  });
});

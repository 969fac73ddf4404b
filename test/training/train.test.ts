import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listUsableImages } from '../../src-main/datasets/repository';
import { BatchMaker } from '../../src-main/training/batches';
import { ImageStore } from '../../src-main/training/image-store';
import { initEngine } from '../../src-main/training/engine/index';
import { evaluateProbabilities } from '../../src-main/training/metrics';
import { loadRunModel } from '../../src-main/training/run-model';
import { tempDir, tempServices } from '../helpers/temp';
import { baseConfig, call, epochNumbers, sampleSplits, undecodablePng } from './fixture';

const services = tempServices();
const data = tempDir('mixup-train-data-');
let first: any;

beforeAll(async () => {
  sampleSplits(data.dir, { train: 32, val: 8, test: 5 });
  const bag = join(data.dir, 'train', 'bag');
  undecodablePng(join(bag, readdirSync(bag).sort()[0]), join(bag, 'zz-undecodable.png'));
  await call(services, 'datasets:index', { root: data.dir, name: 'fm' });
}, 120_000);
afterAll(() => {
  services.cleanup();
  data.cleanup();
});

describe('training a real run in a child process', () => {
  it('learns Fashion-MNIST well above chance (10 classes, 12×12, 4 short epochs) and records everything', async () => {
    first = await call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'wasm' });
    expect(first.status).toBe('completed');
    expect(first.backend).toBe('wasm');
    expect(first.epochs.map((e: any) => e.epoch)).toEqual([0, 1, 2, 3]);
    const last = first.epochs[3];
    expect(last.valAccuracy).toBeGreaterThan(0.45); // chance is 0.1
    expect(first.epochs[3].trainLoss).toBeLessThan(first.epochs[0].trainLoss);
    expect(first.metrics).toMatchObject({ valAccuracy: last.valAccuracy, valLoss: last.valLoss, ece: last.ece });
    // The schedule per epoch: MixUp on for 0..2, off from offEpoch 3.
    expect(first.epochs.map((e: any) => e.mixup.active)).toEqual([true, true, true, false]);
    const show = await call(services, 'runs:show', { run: first.run.id });
    expect(Object.keys(show.perClassAccuracy)).toHaveLength(10);
    const valCount = listUsableImages(services.db, 1, { split: 'val' }).length;
    expect(show.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(valCount);
    expect(show.audit).toHaveLength(4);
    expect(show.epochDetail).toHaveLength(4);
    expect(show.epochDetail[3].confusion).toEqual(show.confusion);
    expect(show.audit[0].mixedSamples).toBeGreaterThan(0);
    expect(show.audit[3].mixedSamples).toBe(0);
    expect(show.preprocessing).toMatchObject({ inputSize: [12, 12], channels: 1, resize: 'fill' });
    expect(show.config.policy).toEqual({ pairs: [] });
    expect(show.config.dataset.name).toBe('fm');
    expect(existsSync(join(show.modelDir, 'model.json'))).toBe(true);
    const events = first.__events as { topic: string; data: any }[];
    expect(events.filter((e) => e.topic === 'train.epoch')).toHaveLength(4);
    const p = events.filter((e) => e.topic === 'train.progress' && e.data.phase === 'train').at(-1)!.data;
    expect(p.done).toBe(p.total);
    // The image that passed the index's structural check but failed to decode was left out and marked corrupt.
    const warnings = events.filter((e) => e.topic === 'train.warning').map((e) => String(e.data.message));
    expect(warnings.some((w) => /zz-undecodable\.png.*marked corrupt/.test(w))).toBe(true);
    expect(listUsableImages(services.db, 1, { split: 'train' }).some((i) => i.relPath.endsWith('zz-undecodable.png'))).toBe(false);
    // The test split is evaluated once, at the end.
    expect(first.test.count).toBe(50);
    expect(first.test.accuracy).toBeGreaterThan(0.3);
    expect(first.test.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(50);
    const list = await call(services, 'runs:list', {});
    expect(list).toMatchObject([{ id: first.run.id, dataset: 'fm', status: 'completed' }]);
  }, 120_000);

  it('evaluates without mixing: the recorded validation metrics equal an independent evaluation of the saved model', async () => {
    await initEngine({ backend: 'wasm', threads: 1 });
    const show = await call(services, 'runs:show', { run: first.run.id });
    const model = await loadRunModel(services, first.run.id);
    const val = listUsableImages(services.db, 1, { split: 'val' }).map((i) => ({ id: i.id, path: i.path, classIndex: i.classIndex, hash: i.hash }));
    const store = await ImageStore.build(val, { inputSize: [12, 12], channels: 1, cacheDir: services.paths.cache });
    const b = await new BatchMaker(store, show.preprocessing).batch(Int32Array.from(store.items.keys()), null);
    const probs = tf.tidy(() => (model.predict(tf.tensor4d(b.x, [b.size, 12, 12, 1])) as tf.Tensor).dataSync());
    const m = evaluateProbabilities(probs, b.labels, 10);
    expect(m.accuracy).toBe(show.metrics.valAccuracy);
    expect(m.nll).toBeCloseTo(show.metrics.valLoss, 4);
    expect(m.ece).toBeCloseTo(show.metrics.ece, 4);
  }, 60_000);

  it('is deterministic: the same seed on the same backend gives identical per-epoch metrics', async () => {
    const second = await call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'wasm' });
    expect(second.run.id).not.toBe(first.run.id);
    expect(epochNumbers(second.epochs)).toEqual(epochNumbers(first.epochs));
  }, 120_000);

  it('runs Manifold MixUp at the blocks the config names, recording the mixing points', async () => {
    const r = await call(services, 'runs:train', {
      dataset: 'fm',
      config: { ...baseConfig, epochs: 2, mixup: { alpha: 0.4, manifold: { layers: ['conv1', 'fc'], includeInput: false } } },
      backend: 'wasm',
    });
    expect(r.status).toBe('completed');
    const show = await call(services, 'runs:show', { run: r.run.id });
    const points = show.audit[0].mixPoints.map((p: any) => p.at).sort();
    expect(points).toEqual(['conv1', 'fc']);
    expect(Number.isFinite(r.epochs[1].valLoss)).toBe(true);
  }, 120_000);

  it('fails a bad config before any work, naming the field, and creates no run', async () => {
    const before = (await call(services, 'runs:list', {})).length;
    await expect(call(services, 'runs:train', { dataset: 'fm', config: { ...baseConfig, mixup: { alpha: -1 } } })).rejects.toThrow(/mixup\.alpha/);
    await expect(
      call(services, 'runs:train', { dataset: 'fm', config: { ...baseConfig, mixup: { manifold: { layers: ['nope'] } } } }),
    ).rejects.toThrow(/mixup\.manifold\.layers: 'nope'/);
    await expect(call(services, 'runs:train', { dataset: 'fm', config: { ...baseConfig, model: { arch: 'vgg' } } })).rejects.toThrow(/model\.arch/);
    await expect(call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'cuda' })).rejects.toThrow(/backend.*cuda/);
    await expect(
      call(services, 'runs:train', { dataset: 'fm', config: { ...baseConfig, policy: { pairs: [{ a: 'bag', b: 'zebra', weight: 0 }] } } }),
    ).rejects.toThrow(/policy.*zebra/);
    expect((await call(services, 'runs:list', {})).length).toBe(before);
  }, 60_000);
});

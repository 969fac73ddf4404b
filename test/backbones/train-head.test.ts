/**
 * A run on a frozen backbone (issue 13): `model.backbone` trains a head on the cached embeddings with MixUp at the
 * features point, through the same child process, loop, pair policy, audit and run record as any run; the
 * second run computes no embedding; the same seed gives the same epochs; what cannot apply to fixed embeddings is
 * refused naming the field, before any run exists. Real parts: an ONNX backbone run by onnxruntime, sharp,
 * tfjs on wasm, a SQLite home.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEmbeddings } from '../../src-main/backbones/repository';
import { loadRunModel } from '../../src-main/training/run-model';
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


/** The exported model.onnx, through predict alone, gives the run's own head (tfjs) on the stored embeddings. */
async function expectExportMatchesHead(runId: number, out: string, backbone: string, dim: number): Promise<void> {
  const rows = services.db.prepare("SELECT i.rel_path, i.hash FROM images i WHERE i.split = 'test' ORDER BY i.rel_path LIMIT 6").all() as { rel_path: string; hash: string }[];
  const predicted = await call<any[]>(services, 'models:predict', { modelDir: out, images: rows.map((x) => join(data.dir, 'fm', x.rel_path)), top: 10 });
  const bb = services.db.prepare('SELECT id FROM backbones WHERE name = ?').pluck().get(backbone) as number;
  const vectors = new Map([...readEmbeddings(services.db, bb, rows.map((x) => x.hash))].map((v) => [v.hash, v.vector]));
  const head = await loadRunModel(services, runId);
  const x = tf.tensor4d(Float32Array.from(rows.flatMap((row) => [...vectors.get(row.hash)!])), [rows.length, 1, 1, dim]);
  const probs = (head.predict(x) as tf.Tensor).arraySync() as number[][];
  const labels = (await call<any>(services, 'runs:show', { run: runId })).classes as string[];
  rows.forEach((row, i) => {
    const byLabel = Object.fromEntries(predicted[i].top.map((t: any) => [t.label, t.probability]));
    labels.forEach((label, k) => expect(byLabel[label], `${row.rel_path} ${label}`).toBeCloseTo(probs[i]![k]!, 5));
  });
  tf.dispose([x]);
  head.dispose();
}

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

  it('exports one ONNX model (backbone graph + head) whose probabilities, by predict, are the head on the stored embeddings; its config.json trains the same run again', async () => {
    const out = join(data.dir, 'export');
    const r = await call(services, 'runs:export', { run: first.run.id, out });
    expect(r.formats).toEqual(['onnx']);
    expect(r.warnings).toEqual([expect.stringMatching(/tfjs\/ not written: run \d+ trained on ONNX backbone 'rand16'/)]);
    expect(r.files.map((f: any) => f.path)).toEqual(['config.json', 'labels.json', 'model.onnx', 'report.html']);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.preprocessing).toMatchObject({ onnxLayout: 'NCHW', resize: 'fill', backbone: { name: 'rand16', format: 'onnx' } });
    expect(cfg.model.backbone).toBe('rand16');

    await expectExportMatchesHead(first.run.id, out, 'rand16', 16);
    expect(cfg.provenance.backbone).toMatchObject({ name: 'rand16', format: 'onnx', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Trained again from the export's config.json: the same run, from the cache.
    const again = await call(services, 'runs:train', { dataset: 'fm', config: cfg, configSource: 'config.json', backend: 'wasm' });
    expect(again.embeddings).toEqual({ computed: 0, cached: IMAGES });
    expect(epochNumbers(again.epochs)).toEqual(epochNumbers(first.epochs));
  }, 60_000);

  it('a backbone whose output is an NHWC feature map, and a hidden head layer, export as one model too', async () => {
    const file = join(data.dir, 'map.onnx');
    writeTestBackbone(file, { channels: 1, size: [28, 28], dim: 6, layout: 'NHWC', pool: false, batch: 1, seed: 5 });
    await call(services, 'backbones:import', { path: file, name: 'map6', resize: 'fill' });
    const run = await call(services, 'runs:train', { dataset: 'fm', config: { ...config, epochs: 2, model: { backbone: 'map6', head: { hidden: 8 } } }, backend: 'wasm' });
    expect(run.status).toBe('completed');
    const out = join(data.dir, 'export-map');
    await call(services, 'runs:export', { run: run.run.id, out, formats: ['onnx'] });
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).preprocessing).toMatchObject({ onnxLayout: 'NHWC' });
    await expectExportMatchesHead(run.run.id, out, 'map6', 6);
  }, 120_000);

  it('a file deleted since the index is left out with a warning, and the run trains on the rest (found by review: it failed the run)', async () => {
    const gone = services.db.prepare("SELECT rel_path FROM images WHERE split = 'train' AND status = 'ok' ORDER BY rel_path LIMIT 1").pluck().get() as string;
    rmSync(join(data.dir, 'fm', gone));
    // A backbone that has embedded nothing yet, so the deleted file's content has no vector.
    const file = join(data.dir, 'fresh.onnx');
    writeTestBackbone(file, { channels: 1, size: [28, 28], dim: 8, seed: 21 });
    await call(services, 'backbones:import', { path: file, name: 'fresh', resize: 'fill' });
    const r = await call(services, 'runs:train', { dataset: 'fm', config: { ...config, epochs: 1, seed: 9, model: { backbone: 'fresh' } }, backend: 'wasm' });
    expect(r.status).toBe('completed');
    const warnings = r.__events.filter((e: any) => e.topic === 'train.warning').map((e: any) => String(e.data.message));
    expect(warnings.some((w: string) => w.startsWith(`left out ${gone}:`))).toBe(true);
    const show = await call(services, 'runs:show', { run: r.run.id });
    expect(show.audit[0].samples).toBe(199);
  }, 120_000);
});

/**
 * Transfer helps (issue 13): a backbone pretrained on one part of Fashion-MNIST (Debian's test set, 10,000
 * images; a small CNN trained here by tfjs, its feature layer exported to ONNX by the project's converter: a
 * real pretrained ONNX model), imported, then a head trained with MixUp on 10 labelled images per class of
 * another part (the app's sample, from the training set). Its validation accuracy must be well above the same
 * 100 images trained from scratch, and within a few points of a plain linear probe (no MixUp) on the same
 * embeddings.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src-main/export/onnx/convert';
import { initEngine } from '../../src-main/training/engine/index';
// @ts-expect-error: a plain .mjs helper shared with the benchmarks (no types)
import { FASHION_MNIST_CLASSES, pickPerClass, readFashionMnist } from '../../scripts/lib/fashion-mnist.mjs';
import { tempDir, tempServices } from '../helpers/temp';
import { SAMPLE, call } from '../training/fixture';

const CLASSES = readdirSync(SAMPLE).sort();
const LABELLED = 10;
const PRETRAIN_PER_CLASS = 1000;

const services = tempServices();
const tmp = tempDir('mixup-transfer-');

/**
 * Trains a small CNN on Debian's Fashion-MNIST test set (10,000 images: none of them is in the app's sample,
 * which comes from the training set) and writes its 64-d feature layer as an ONNX backbone.
 */
async function pretrainBackbone(file: string): Promise<void> {
  await initEngine({ backend: 'wasm' });
  const fm = readFashionMnist('test');
  const wanted = new Map(CLASSES.map((c, k) => [FASHION_MNIST_CLASSES.indexOf(c), k]));
  const picked = pickPerClass(fm.labels, PRETRAIN_PER_CLASS);
  const px = 28 * 28;
  const xs = new Float32Array(picked.length * px);
  const ys = new Int32Array(picked.length);
  picked.forEach((i: number, n: number) => {
    for (let j = 0; j < px; j++) xs[n * px + j] = fm.images[i * px + j]! / 255;
    ys[n] = wanted.get(fm.labels[i]!)!;
  });
  const seed = (n: number) => tf.initializers.glorotUniform({ seed: n });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: seed(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: seed(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', name: 'features', kernelInitializer: seed(3) }),
      tf.layers.dense({ units: CLASSES.length, kernelInitializer: seed(4) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.003), loss: tf.losses.softmaxCrossEntropy });
  const x = tf.tensor4d(xs, [ys.length, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(ys, 'int32'), CLASSES.length);
  // No shuffle: tfjs shuffles with Math.random, and the test must give the same backbone every time (the picked
  // images are already in the file's mixed class order).
  await model.fit(x, y, { epochs: 6, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  const features = tf.model({ inputs: model.inputs, outputs: model.getLayer('features').output as tf.SymbolicTensor });
  writeFileSync(file, exportOnnx(features));
  model.dispose();
}

beforeAll(async () => {
  const backbone = join(tmp.dir, 'fm5.onnx');
  await pretrainBackbone(backbone);
  await call(services, 'backbones:import', { path: backbone, name: 'fm5', resize: 'fill', mean: [0], std: [1] });
  // The target task: 10 labelled training images per class, the rest for validation, named by a manifest.
  const root = join(tmp.dir, 'target');
  const rows = ['path,label,split'];
  for (const cls of CLASSES) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const [i, f] of readdirSync(join(SAMPLE, cls)).sort().entries()) {
      copyFileSync(join(SAMPLE, cls, f), join(root, cls, f));
      rows.push(`${cls}/${f},${cls},${i < LABELLED ? 'train' : 'val'}`);
    }
  }
  writeFileSync(join(root, 'manifest.csv'), `${rows.join('\n')}\n`);
  await call(services, 'datasets:index', { root, name: 'target', manifest: join(root, 'manifest.csv') });
}, 240_000);
afterAll(() => {
  services.cleanup();
  tmp.cleanup();
});

describe('transfer learning with MixUp on a pretrained backbone', () => {
  it('beats training the same 100 images from scratch by far, and stays within a few points of a plain linear probe', async () => {
    const common = { seed: 1, epochs: 40, batchSize: 10 };
    const head = await call(services, 'runs:train', {
      dataset: 'target',
      config: { ...common, model: { backbone: 'fm5' }, optimizer: { lr: 0.01 }, mixup: { alpha: 0.2 } },
      backend: 'wasm',
    });
    const probe = await call(services, 'runs:train', {
      dataset: 'target',
      config: { ...common, model: { backbone: 'fm5' }, optimizer: { lr: 0.01 }, mixup: { alpha: 0 } },
      backend: 'wasm',
    });
    const scratch = await call(services, 'runs:train', {
      dataset: 'target',
      config: { ...common, model: { arch: 'cnn-small', inputSize: [28, 28], channels: 1 }, optimizer: { lr: 0.003 }, mixup: { alpha: 0.2 } },
      backend: 'wasm',
    });
    const acc = { head: head.metrics.valAccuracy, probe: probe.metrics.valAccuracy, scratch: scratch.metrics.valAccuracy };
    console.log(`transfer: val accuracy on ${CLASSES.length * (120 - LABELLED)} images: head+MixUp ${acc.head.toFixed(3)}, linear probe ${acc.probe.toFixed(3)}, from scratch ${acc.scratch.toFixed(3)}`);
    expect(head.embeddings).toMatchObject({ computed: CLASSES.length * 120 });
    expect(probe.embeddings).toEqual({ computed: 0, cached: CLASSES.length * 120 });
    // Measured here (wasm): head+MixUp 0.835, linear probe 0.825, from scratch 0.744 (PyTorch, in the issue: 0.87 vs 0.70).
    expect(acc.head).toBeGreaterThan(acc.scratch + 0.06);
    expect(Math.abs(acc.head - acc.probe)).toBeLessThan(0.05);

    // Exported as one model (this backbone, made by the app's own converter, already has a tensor named
    // 'probabilities': the head's output must still be the one the graph gives), predict classifies with it alone.
    const out = join(tmp.dir, 'export');
    await call(services, 'runs:export', { run: head.run.id, out });
    const val = readdirSync(join(SAMPLE, 'bag')).sort().slice(LABELLED, LABELLED + 10).map((f) => join(tmp.dir, 'target', 'bag', f));
    const predicted = await call<any[]>(services, 'models:predict', { modelDir: out, images: val, top: 1 });
    expect(predicted.every((p) => p.top[0].probability > 0 && p.top[0].probability <= 1)).toBe(true);
    expect(predicted.filter((p) => p.top[0].label === 'bag').length).toBeGreaterThanOrEqual(7);
  }, 600_000);
});

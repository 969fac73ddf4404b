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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pretrainFashionBackbone } from '../helpers/fm-backbone';
import { tempDir, tempServices } from '../helpers/temp';
import { SAMPLE, call } from '../training/fixture';

const CLASSES = readdirSync(SAMPLE).sort();
const LABELLED = 10;

const services = tempServices();
const tmp = tempDir('mixup-transfer-');

beforeAll(async () => {
  const backbone = join(tmp.dir, 'fm5.onnx');
  await pretrainFashionBackbone(backbone, CLASSES);
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

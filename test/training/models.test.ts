import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine } from '../../src-main/training/engine/index';
import { buildModel, buildNetwork, forwardLogits } from '../../src-main/training/models';
import { blockNamesFor } from '../../src-main/config/model-spec';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
}, 120_000);

const specs = [
  { arch: 'cnn-small', inputSize: [28, 28], channels: 1 },
  { arch: 'resnet20', inputSize: [16, 16], channels: 3 },
  { arch: 'mobilenetv2', inputSize: [32, 32], channels: 3 },
] as const;

describe('model zoo', () => {
  it('builds cnn-small exactly: conv32 valid, pool, conv64 same, pool, dense 128, dense C (315,146 weights for 28×28×1, 10 classes)', () => {
    const m = buildModel({ arch: 'cnn-small', inputSize: [28, 28], channels: 1, numClasses: 10 }, 1);
    const kinds = m.layers.map((l) => l.getClassName());
    expect(kinds).toEqual(['InputLayer', 'Conv2D', 'ReLU', 'MaxPooling2D', 'Conv2D', 'ReLU', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense', 'Softmax']);
    const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.getConfig());
    expect(convs.map((c) => [c.filters, c.kernelSize, c.padding])).toEqual([
      [32, [3, 3], 'valid'],
      [64, [3, 3], 'same'],
    ]);
    expect(m.countParams()).toBe(320 + 18496 + 2304 * 128 + 128 + 1290);
    expect(m.outputs[0].shape).toEqual([null, 10]);
    m.dispose();
  });

  it('outputs softmax probabilities, and running the blocks one by one gives the same logits', () => {
    for (const s of specs) {
      const net = buildNetwork({ ...s, inputSize: [...s.inputSize], numClasses: 5 }, 3);
      expect(net.blockNames).toEqual(blockNamesFor(s.arch));
      const x = tf.randomNormal([2, s.inputSize[0], s.inputSize[1], s.channels], 0, 1, 'float32', 4);
      const p = net.model.predict(x) as tf.Tensor;
      const sums = tf.sum(p, 1).arraySync() as number[];
      for (const v of sums) expect(v).toBeCloseTo(1, 5);
      const viaBlocks = tf.softmax(forwardLogits(net, x, false));
      expect(tf.max(tf.abs(tf.sub(p, viaBlocks))).arraySync()).toBeLessThan(1e-5);
      tf.dispose([x, p, viaBlocks]);
      net.model.dispose();
    }
  });

  it('initialises deterministically from the seed (same seed same weights, other seed other weights)', () => {
    const spec = { arch: 'resnet20', inputSize: [12, 12], channels: 3, numClasses: 4 };
    const a = buildModel(spec, 11).getWeights().map((w) => w.dataSync());
    const b = buildModel(spec, 11).getWeights().map((w) => w.dataSync());
    const c = buildModel(spec, 12).getWeights().map((w) => w.dataSync());
    expect(a.length).toBe(b.length);
    a.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(b[i])));
    expect(Array.from(a[0])).not.toEqual(Array.from(c[0]));
  });

  it('rejects unknown architectures and bad shapes, naming the field', () => {
    expect(() => buildModel({ arch: 'vgg', inputSize: [28, 28], channels: 1, numClasses: 10 }, 1)).toThrow(/model\.arch.*vgg/);
    expect(() => buildModel({ arch: 'cnn-small', inputSize: [28, 28], channels: 2, numClasses: 10 }, 1)).toThrow(/model\.channels/);
    expect(() => buildModel({ arch: 'mobilenetv2', inputSize: [8, 8], channels: 3, numClasses: 10 }, 1)).toThrow(/model\.inputSize/);
  });
});

describe('manifold mixing as a matrix product', () => {
  it('equals the mixer applied directly to the features, and has gradients on wasm', async () => {
    const { resolveRunConfig } = await import('../../src-main/config/run-config');
    const { createMixer } = await import('../../src-main/mixup/mixer');
    const { Rng } = await import('../../src-main/mixup/rng');
    const { mixFeatures } = await import('../../src-main/training/loop');
    const config = resolveRunConfig({ model: { inputSize: [8, 8] }, mixup: { alpha: 0.5, mode: 'elem', manifold: { layers: ['conv1'], includeInput: false } } });
    const mixer = createMixer({ config, classes: ['a', 'b', 'c'], policy: { pairs: [{ a: 'a', b: 'b', weight: 0 }] }, rng: new Rng(2) });
    const labels = [0, 1, 2, 0, 1, 2];
    const plan = mixer.planBatch(labels, 0);
    expect(plan.mixAt).toBe('conv1');
    const h = tf.randomNormal([6, 3, 3, 4], 0, 1, 'float32', 9);
    const direct = mixer.applyToFeatures(plan, h);
    const viaMatrix = mixFeatures(mixer, plan, h);
    expect(tf.max(tf.abs(tf.sub(direct, viaMatrix))).arraySync()).toBeLessThan(1e-5);
    const v = tf.variable(h);
    const g = tf.grad((x: tf.Tensor) => tf.sum(mixFeatures(mixer, plan, x)))(v);
    expect(g.shape).toEqual(h.shape);
  });
});

describe('reads from the backend', () => {
  it('a training step and the step bench never read a tensor synchronously (webgpu under Node cannot: its readSync needs OffscreenCanvas, seen on an H200)', async () => {
    const { resolveRunConfig } = await import('../../src-main/config/run-config');
    const { createMixer } = await import('../../src-main/mixup/mixer');
    const { Rng } = await import('../../src-main/mixup/rng');
    const { trainStep, trainableVariables } = await import('../../src-main/training/loop');
    const { Optimizer } = await import('../../src-main/training/optim');
    const { benchTrainStep } = await import('../../src-main/training/engine/bench');
    const config = resolveRunConfig({ model: { arch: 'cnn-small', inputSize: [12, 12], channels: 1 }, mixup: { alpha: 0.4 } });
    const net = buildNetwork({ arch: 'cnn-small', inputSize: [12, 12], channels: 1, numClasses: 3 }, 3);
    const vars = trainableVariables(net);
    const optimizer = new Optimizer(config.optimizer, vars);
    // As on a GPU backend: input mixing with tensor ops, not on the host array.
    const mixer = createMixer({ config, classes: ['a', 'b', 'c'], policy: null, rng: new Rng(4), inputMixing: 'ops' });
    const labels = Int32Array.from([0, 1, 2, 0, 1, 2]);
    const batch = { x: Float32Array.from({ length: 6 * 144 }, (_, i) => (i % 17) / 17), labels, size: 6 };
    const sync = () => {
      throw new Error('synchronous read');
    };
    const spies = [vi.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(sync), vi.spyOn(tf.Tensor.prototype, 'arraySync').mockImplementation(sync)];
    try {
      const { loss } = await trainStep({ net, optimizer, vars, batch, mixer, epoch: 0, numClasses: 3, lr: 1e-3 });
      expect(Number.isFinite(loss) && loss > 0).toBe(true);
      const bench = await benchTrainStep({ backend: 'wasm', arch: 'cnn-small', batch: 4, steps: 1, warmup: 0 });
      expect(bench.imagesPerSecond).toBeGreaterThan(0);
      for (const s of spies) expect(s).not.toHaveBeenCalled();
    } finally {
      spies.forEach((s) => s.mockRestore());
      optimizer.dispose();
    }
  });
});

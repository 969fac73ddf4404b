import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src-main/training/engine/index';
import { hasCheckpoint, loadCheckpoint, loadModel, restoreWeights, saveCheckpoint, saveModel } from '../../src-main/training/checkpoint';
import { buildNetwork } from '../../src-main/training/models';
import { learningRateAt, Optimizer } from '../../src-main/training/optim';
import { tempDir } from '../helpers/temp';

const tmp = tempDir('mixup-ckpt-');
beforeAll(async () => {
  await initEngine({ backend: 'wasm', threads: 1 });
}, 120_000);
afterAll(() => tmp.cleanup());

describe('optimizers and schedules', () => {
  it('follows PyTorch Adam by hand (bias correction, eps outside the root, L2 weight decay)', () => {
    const v = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Optimizer({ name: 'adam', lr: 0.1, weightDecay: 0.01, schedule: 'constant' }, [v]);
    let w = [1, -2];
    let m = [0, 0];
    let s = [0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = [0.5 * t, -0.25];
      opt.apply([tf.tensor1d(g)], 0.1);
      w = w.map((wi, i) => {
        const gi = g[i] + 0.01 * wi;
        m[i] = 0.9 * m[i] + 0.1 * gi;
        s[i] = 0.999 * s[i] + 0.001 * gi * gi;
        const mh = m[i] / (1 - 0.9 ** t);
        const sh = s[i] / (1 - 0.999 ** t);
        return wi - (0.1 * mh) / (Math.sqrt(sh) + 1e-8);
      });
    }
    const got = v.dataSync();
    expect(got[0]).toBeCloseTo(w[0], 5);
    expect(got[1]).toBeCloseTo(w[1], 5);
  });

  it('follows PyTorch SGD with Nesterov momentum by hand', () => {
    const v = tf.variable(tf.tensor1d([1]));
    const opt = new Optimizer({ name: 'sgd', lr: 0.5, weightDecay: 0, schedule: 'constant', momentum: 0.9, nesterov: true }, [v]);
    let w = 1;
    let buf = 0;
    for (let t = 1; t <= 3; t++) {
      const g = t;
      opt.apply([tf.tensor1d([g])], 0.5);
      buf = t === 1 ? g : 0.9 * buf + g;
      w -= 0.5 * (g + 0.9 * buf);
    }
    expect(v.dataSync()[0]).toBeCloseTo(w, 5);
  });

  it('schedules the learning rate per epoch: warm-up, step, cosine', () => {
    const base = { name: 'adam' as const, lr: 1, weightDecay: 0 };
    expect(learningRateAt({ ...base, schedule: 'constant' }, 7, 10)).toBe(1);
    expect(learningRateAt({ ...base, schedule: 'step', stepEpochs: 3, gamma: 0.5 }, 7, 10)).toBe(0.25);
    expect(learningRateAt({ ...base, schedule: 'cosine' }, 0, 10)).toBe(1);
    expect(learningRateAt({ ...base, schedule: 'cosine' }, 5, 10)).toBeCloseTo(0.5, 12);
    expect(learningRateAt({ ...base, schedule: 'constant', warmupEpochs: 2 }, 0, 10)).toBeCloseTo(0.1, 12);
    expect(learningRateAt({ ...base, schedule: 'constant', warmupEpochs: 2 }, 1, 10)).toBeCloseTo(0.55, 12);
    expect(learningRateAt({ ...base, schedule: 'cosine', warmupEpochs: 2 }, 2, 10)).toBe(1);
  });
});

describe('checkpoints and saved models', () => {
  it('restores weights (BatchNorm statistics included) and optimizer slots bit for bit', async () => {
    const spec = { arch: 'resnet20', inputSize: [8, 8], channels: 3, numClasses: 3 };
    const a = buildNetwork(spec, 1);
    const va = a.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new Optimizer({ name: 'adam', lr: 0.01, weightDecay: 0, schedule: 'constant' }, va);
    // Change the weights and the BN moving stats, then checkpoint.
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(a.blocks.reduce((h, run) => run(h, true), x as tf.Tensor))) as tf.Scalar, va);
    opt.apply(va.map((v) => grads[v.name]), 0.01);
    const dir = `${tmp.dir}/ck`;
    await saveCheckpoint(dir, a.model, await opt.save(), { epoch: 3, state: { hello: [1, 2] } });
    expect(hasCheckpoint(dir)).toBe(true);

    const b = buildNetwork(spec, 99);
    const vb = b.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optB = new Optimizer({ name: 'adam', lr: 0.01, weightDecay: 0, schedule: 'constant' }, vb);
    const ck = loadCheckpoint(dir);
    expect(ck.epoch).toBe(3);
    expect(ck.state).toEqual({ hello: [1, 2] });
    restoreWeights(b.model, ck);
    optB.restore(ck.optimizer);
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wb).toEqual(wa);
    expect((await optB.save()).slots.map((s) => Array.from(s.data))).toEqual((await opt.save()).slots.map((s) => Array.from(s.data)));
    // The next step from both is identical.
    opt.apply(va.map((v) => tf.onesLike(v)), 0.01);
    optB.apply(vb.map((v) => tf.onesLike(v)), 0.01);
    expect(b.model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(a.model.getWeights().map((w) => Array.from(w.dataSync())));
  });

  it('saves the model as model.json + weights.bin and loads it back with the same predictions', async () => {
    const net = buildNetwork({ arch: 'cnn-small', inputSize: [12, 12], channels: 1, numClasses: 4 }, 5);
    const dir = `${tmp.dir}/model`;
    await saveModel(net.model, dir);
    const loaded = await loadModel(dir);
    const x = tf.randomUniform([3, 12, 12, 1], 0, 1, 'float32', 6);
    const p1 = (net.model.predict(x) as tf.Tensor).dataSync();
    const p2 = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(p2)).toEqual(Array.from(p1));
  });

  it('refuses a truncated checkpoint as corrupt', async () => {
    const { writeFileSync, readFileSync } = await import('node:fs');
    const dir = `${tmp.dir}/ck`;
    const buf = readFileSync(`${dir}/checkpoint.bin`);
    const bad = `${tmp.dir}/bad`;
    await import('node:fs').then((fs) => fs.mkdirSync(bad, { recursive: true }));
    writeFileSync(`${bad}/checkpoint.bin`, buf.subarray(0, buf.length - 100));
    expect(() => loadCheckpoint(bad)).toThrow(/truncated/);
  });
});

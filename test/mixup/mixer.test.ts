import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveRunConfig, type RunConfigInput } from '../../src-main/config/run-config';
import { createMixer, type MixPlan } from '../../src-main/mixup/mixer';
import { KIND_CUTMIX, KIND_MIXUP } from '../../src-main/mixup/plan';
import { Rng } from '../../src-main/mixup/rng';

const CLASSES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const H = 10;
const W = 9;

let inputMixing: 'array' | 'ops' = 'array';

function mixer(mixup: RunConfigInput['mixup'], seed = 1) {
  const config = resolveRunConfig({ model: { inputSize: [H, W] }, mixup });
  return createMixer({ config, classes: CLASSES, policy: null, rng: new Rng(seed), inputMixing });
}

/** A batch where sample i is filled with the constant i + 1 (so every pixel says where it came from). */
function constantBatch(n: number, c = 3): tf.Tensor4D {
  const data = new Float32Array(n * H * W * c);
  for (let i = 0; i < n; i++) data.fill(i + 1, i * H * W * c, (i + 1) * H * W * c);
  return tf.tensor4d(data, [n, H, W, c]);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe.each(['array', 'ops'] as const)('mixer (tfjs), inputs mixed via %s', (path) => {
  beforeAll(() => {
    inputMixing = path;
  });

  it('keeps shapes, and MixUp gives λ·x_i + (1−λ)·x_partner with targets mixed the same way', () => {
    for (const mode of ['batch', 'elem', 'pair'] as const) {
      const m = mixer({ alpha: 0.7, mode });
      const labels = [0, 1, 2, 3, 4, 5, 6];
      const plan = m.planBatch(labels, 0);
      const x = tf.randomNormal([7, H, W, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const y = m.applyToInputs(plan, x);
      expect(y.shape).toEqual(x.shape);
      const xa = x.arraySync();
      const ya = y.arraySync();
      const t = m.targets(plan, labels, CLASSES.length);
      expect(t.shape).toEqual([7, CLASSES.length]);
      const ta = t.arraySync();
      for (let i = 0; i < 7; i++) {
        const j = plan.partner[i];
        const lam = plan.lambda[i];
        expect(plan.kind[i]).toBe(KIND_MIXUP);
        for (const [r, c, ch] of [[0, 0, 0], [3, 5, 2], [9, 8, 1]]) {
          expect(ya[i][r][c][ch]).toBeCloseTo(lam * xa[i][r][c][ch] + (1 - lam) * xa[j][r][c][ch], 5);
        }
        expect(ta[i][labels[i]]).toBeCloseTo(lam, 6);
        expect(ta[i][labels[j]]).toBeCloseTo(1 - lam, 6);
        expect(ta[i].reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
      }
      tf.dispose([x, y, t]);
    }
  });

  it('is the identity when nothing is mixed (off epoch, prob 0 batch, α = 0): values and one-hot targets', () => {
    const x = tf.randomUniform([5, H, W, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const cases: [RunConfigInput['mixup'], number][] = [
      [{ alpha: 0.4, offEpoch: 2 }, 3],
      [{ alpha: 0, cutmixAlpha: 0 }, 0],
      [{ alpha: 0.4, prob: 0 }, 0],
    ];
    for (const [cfg, epoch] of cases) {
      const m = mixer(cfg);
      const plan = m.planBatch([0, 1, 2, 3, 4], epoch);
      const y = m.applyToInputs(plan, x);
      expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
      const t = m.targets(plan, [0, 1, 2, 3, 4], CLASSES.length).arraySync();
      t.forEach((row, i) => expect(row).toEqual(CLASSES.map((_, c) => (c === i ? 1 : 0))));
      y.dispose();
    }
    x.dispose();
  });

  it('gives CutMix samples a label weight equal to the share of their own pixels kept (pixels counted)', () => {
    for (const mode of ['batch', 'elem', 'pair'] as const) {
      const m = mixer({ alpha: 0, cutmixAlpha: 1, mode }, 7);
      const n = 9;
      const labels = Array.from({ length: n }, (_, i) => i % CLASSES.length);
      for (let rep = 0; rep < 5; rep++) {
        const plan = m.planBatch(labels, 0);
        const x = constantBatch(n, 1);
        const y = m.applyToInputs(plan, x).arraySync();
        const t = m.targets(plan, labels, CLASSES.length).arraySync();
        for (let i = 0; i < n; i++) {
          if (plan.reasons[i] !== null) continue;
          expect(plan.kind[i]).toBe(KIND_CUTMIX);
          let own = 0;
          let other = 0;
          for (let r = 0; r < H; r++) {
            for (let c = 0; c < W; c++) {
              const v = y[i][r][c][0];
              if (v === i + 1) own += 1;
              else if (v === plan.partner[i] + 1) other += 1;
            }
          }
          expect(own + other).toBe(H * W); // pixels are copied, never blended
          const kept = own / (H * W);
          expect(plan.lambda[i]).toBeCloseTo(kept, 12);
          const li = labels[i];
          const lj = labels[plan.partner[i]];
          if (li !== lj) expect(t[i][li]).toBeCloseTo(kept, 6);
        }
        x.dispose();
      }
    }
  });

  it('mixes hidden activations of any rank (manifold MixUp) and lets gradients flow through', () => {
    const config = resolveRunConfig({ model: { inputSize: [H, W] }, mixup: { alpha: 1, mode: 'elem', manifold: { layers: ['block1'], includeInput: false } } });
    const m = createMixer({ config, classes: CLASSES, policy: null, rng: new Rng(2) });
    const plan = m.planBatch([0, 1, 2, 3], 0);
    expect(plan.mixAt).toBe('block1');
    expect(() => m.applyToInputs(plan, constantBatch(4))).toThrow(/block1/);
    const h = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const out = m.applyToFeatures(plan, h).arraySync() as number[][];
    for (let i = 0; i < 4; i++) {
      const j = plan.partner[i];
      const lam = plan.lambda[i];
      expect(out[i][1]).toBeCloseTo(lam * (2 * i + 2) + (1 - lam) * (2 * j + 2), 5);
    }
    const g = tf.grad((v: tf.Tensor) => tf.sum(m.applyToFeatures(plan, v)))(h);
    expect(tf.sum(g).dataSync()[0]).toBeCloseTo(8, 4); // each row's weights sum to 1
    const h3 = tf.ones([4, 3, 2]);
    expect(m.applyToFeatures(plan, h3).shape).toEqual([4, 3, 2]);
  });

  it('refuses plans it did not make and batches of the wrong size (no back door around the planner)', () => {
    const m = mixer({ alpha: 0.4 });
    const plan = m.planBatch([0, 1, 2], 0);
    const forged = { ...plan } as MixPlan;
    expect(() => m.applyToInputs(forged, constantBatch(3))).toThrow(/not made by a mixer/);
    expect(() => m.applyToInputs(plan, constantBatch(4))).toThrow(/4 samples/);
    expect(() => m.targets(plan, [0, 1, 1], CLASSES.length)).toThrow(/differs/);
  });

  it('has no evaluation entry point: the mixer exposes only training-time methods', () => {
    const m = mixer({ alpha: 0.4 });
    expect(Object.keys(m).sort()).toEqual(
      ['applyToFeatures', 'applyToInputs', 'audit', 'audits', 'classes', 'dropAudit', 'getState', 'planBatch', 'scheduleFor', 'setState', 'targets'].sort(),
    );
  });

  it('does not leak tensors', () => {
    const m = mixer({ alpha: 0.4, cutmixAlpha: 1, mode: 'elem' });
    const x = constantBatch(6);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) {
      const plan = m.planBatch([0, 1, 2, 3, 4, 5], 0);
      tf.dispose([m.applyToInputs(plan, x), m.targets(plan, [0, 1, 2, 3, 4, 5], CLASSES.length)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('mixer input paths agree', () => {
  it('mixes the same plan to the same values on the host array and with tfjs ops (MixUp and CutMix)', () => {
    for (const mixup of [{ alpha: 0.5, cutmixAlpha: 1, mode: 'elem' as const }, { alpha: 0.5, mode: 'pair' as const }]) {
      const config = resolveRunConfig({ model: { inputSize: [H, W] }, mixup });
      const a = createMixer({ config, classes: CLASSES, policy: null, rng: new Rng(3), inputMixing: 'array' });
      const b = createMixer({ config, classes: CLASSES, policy: null, rng: new Rng(3), inputMixing: 'ops' });
      const labels = [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2];
      const x = tf.randomUniform([labels.length, H, W, 2], -1, 1, 'float32', 9) as tf.Tensor4D;
      const ya = a.applyToInputs(a.planBatch(labels, 0), x).dataSync();
      const yb = b.applyToInputs(b.planBatch(labels, 0), x).dataSync();
      let maxDiff = 0;
      for (let k = 0; k < ya.length; k++) maxDiff = Math.max(maxDiff, Math.abs(ya[k] - yb[k]));
      expect(maxDiff).toBeLessThan(1e-5);
      x.dispose();
    }
  });
});

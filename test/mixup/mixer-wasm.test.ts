import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../src-main/config/run-config';
import { createMixer } from '../../src-main/mixup/mixer';
import { Rng } from '../../src-main/mixup/rng';
import { initEngine } from '../../src-main/training/engine/index';

describe('mixer on the wasm backend (the one that trains here)', () => {
  beforeAll(async () => {
    const info = await initEngine({ backend: 'wasm', threads: 1 });
    expect(info.backend).toBe('wasm');
  }, 120_000);

  it('back-propagates through manifold MixUp of hidden activations (no kernel missing on wasm)', () => {
    const config = resolveRunConfig({ model: { inputSize: [8, 8] }, mixup: { alpha: 1, mode: 'elem', manifold: { layers: ['b1'], includeInput: false } } });
    const m = createMixer({ config, classes: ['a', 'b', 'c'], policy: null, rng: new Rng(2) });
    const plan = m.planBatch([0, 1, 2, 0, 1], 0);
    expect(plan.mixAt).toBe('b1');
    const h = tf.variable(tf.randomNormal([5, 4, 3, 2], 0, 1, 'float32', 5));
    const { grads, value } = tf.variableGrads(() => tf.sum(m.applyToFeatures(plan, h)) as tf.Scalar, [h]);
    // d(sum of mixed rows)/dh_j = how much of sample j went into all rows: λ_j (own) + Σ over i with partner j of 1 − λ_i.
    const share = new Array(5).fill(0);
    for (let i = 0; i < 5; i++) {
      share[i] += plan.lambda[i];
      share[plan.partner[i]] += 1 - plan.lambda[i];
    }
    const g = grads[h.name].arraySync() as number[][][][];
    for (let j = 0; j < 5; j++) expect(g[j][1][2][0]).toBeCloseTo(share[j], 4);
    const perSample = tf.sum(h, [1, 2, 3]).arraySync() as number[];
    expect(value.dataSync()[0]).toBeCloseTo(perSample.reduce((acc, v, j) => acc + share[j] * v, 0), 3);
  });

  it('mixes input images on the host array with the same values as the planned blend', () => {
    const config = resolveRunConfig({ model: { inputSize: [8, 8] }, mixup: { alpha: 0.5, cutmixAlpha: 1, mode: 'elem' } });
    const m = createMixer({ config, classes: ['a', 'b', 'c'], policy: null, rng: new Rng(3) });
    const plan = m.planBatch([0, 1, 2, 0], 0);
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const y = m.applyToInputs(plan, x);
    const xa = x.arraySync();
    const ya = y.arraySync();
    for (let i = 0; i < 4; i++) {
      const j = plan.partner[i];
      const [y0, x0, y1, x1] = plan.boxes.subarray(4 * i, 4 * i + 4);
      for (const [r, c] of [[0, 0], [4, 4], [7, 3]]) {
        const inBox = plan.kind[i] === 2 && r >= y0 && r < y1 && c >= x0 && c < x1;
        const expected = plan.kind[i] === 1 ? plan.lambda[i] * xa[i][r][c][1] + (1 - plan.lambda[i]) * xa[j][r][c][1] : inBox ? xa[j][r][c][1] : xa[i][r][c][1];
        expect(ya[i][r][c][1]).toBeCloseTo(expected, 5);
      }
    }
  });
});

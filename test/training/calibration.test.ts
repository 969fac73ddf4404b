/**
 * Temperature scaling (issue 15's calibration, which sweeps rank by): T fitted on val undoes a known
 * over-confidence (probabilities sharpened by a power of 3 give T ≈ 3) and lowers ECE; T = 1 changes nothing;
 * the reliability bins hold every sample once.
 */
import { describe, expect, it } from 'vitest';
import { calibrate, fitTemperature, reliabilityBins, scaleProbabilities } from '../../src-main/training/calibration';
import { expectedCalibrationError } from '../../src-main/training/metrics';
import { createRng } from '../../src-main/mixup/rng';

/** n samples of c classes: calibrated probabilities q, labels drawn from q, and q sharpened by `power`. */
function sample(n: number, c: number, power: number, seed: number) {
  const rng = createRng(seed);
  const q = new Float64Array(n * c);
  const sharp = new Float64Array(n * c);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += q[i * c + k] = Math.exp(2 * rng.normal());
    let u = rng.next() * s;
    labels[i] = c - 1;
    for (let k = 0; k < c; k++) {
      q[i * c + k] /= s;
      if ((u -= q[i * c + k] * s) <= 0 && labels[i] === c - 1) labels[i] = k;
    }
    let t = 0;
    for (let k = 0; k < c; k++) t += sharp[i * c + k] = q[i * c + k] ** power;
    for (let k = 0; k < c; k++) sharp[i * c + k] /= t;
  }
  return { q, sharp, labels };
}

describe('temperature scaling', () => {
  it('undoes a known over-confidence and lowers ECE on held-out samples', () => {
    const val = sample(4000, 5, 3, 1);
    const test = sample(4000, 5, 3, 2);
    const t = fitTemperature(val.sharp, val.labels, 5);
    expect(t).toBeGreaterThan(2.6);
    expect(t).toBeLessThan(3.4);
    const c = calibrate({ probs: val.sharp, labels: val.labels }, { probs: test.sharp, labels: test.labels }, 5);
    expect(c.split).toBe('test');
    expect(c.count).toBe(4000);
    expect(c.ece).toBeCloseTo(expectedCalibrationError(test.sharp, test.labels, 5), 10);
    expect(c.eceCalibrated).toBeLessThan(c.ece / 2);
    expect(c.nllCalibrated).toBeLessThan(c.nll);
  });
  it('leaves calibrated probabilities alone (T ≈ 1), and T = 1 is the identity', () => {
    const val = sample(4000, 4, 1, 3);
    expect(fitTemperature(val.q, val.labels, 4)).toBeGreaterThan(0.85);
    expect(fitTemperature(val.q, val.labels, 4)).toBeLessThan(1.15);
    const same = scaleProbabilities(val.q, 4, 1);
    for (let i = 0; i < 40; i++) expect(same[i]).toBeCloseTo(val.q[i], 12);
  });
  it('does not fit on a val split that is too small or all right (T would run to its floor and sharpen everything)', () => {
    const small = sample(30, 3, 3, 5);
    const c = calibrate({ probs: small.sharp, labels: small.labels }, null, 3);
    expect(c).toMatchObject({ temperature: 1, fitted: false });
    expect(c.reason).toMatch(/30 val images \(at least 50 needed\)/);
    expect(c.eceCalibrated).toBeCloseTo(c.ece, 12);
    // All right: one-hot-ish probabilities on the true class.
    const n = 60;
    const probs = new Float64Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      probs[i * 2 + labels[i]] = 0.9;
      probs[i * 2 + 1 - labels[i]] = 0.1;
    }
    expect(calibrate({ probs, labels }, null, 2)).toMatchObject({ temperature: 1, fitted: false, reason: expect.stringMatching(/every val image is right/) });
    // Fitted: the val figures are there for a sweep to rank by.
    const val = sample(400, 4, 2, 6);
    const f = calibrate({ probs: val.sharp, labels: val.labels }, null, 4);
    expect(f.fitted).toBe(true);
    expect(f.val.eceCalibrated).toBeCloseTo(f.eceCalibrated, 12);
  });
  it('keeps logit gaps beyond 27 (probabilities below 1e-12 are not floored there)', () => {
    const p = Float64Array.from([1 - 1e-20, 1e-20, 0.5, 0.5]);
    const s = scaleProbabilities(p, 2, 2);
    expect(s[1]).toBeCloseTo(1e-10, 15);
  });
  it('measures on val when there is no test split; the reliability bins hold every sample once', () => {
    const val = sample(500, 3, 2, 4);
    const c = calibrate({ probs: val.sharp, labels: val.labels }, null, 3);
    expect(c.split).toBe('val');
    const bins = reliabilityBins(val.sharp, val.labels, 3);
    expect(bins).toHaveLength(15);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(500);
    for (const b of bins) if (b.count) expect(b.confidence!).toBeLessThanOrEqual(b.upper + 1e-12);
  });
});

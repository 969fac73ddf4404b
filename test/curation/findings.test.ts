/**
 * The curation rules on data whose answer is known by construction: confident learning's thresholds and
 * suspects, the softmax regression's fit (a true minimum, seeded folds that do not leak), and intrusion: blends
 * of two clusters that land on a third cluster between them get a `forbid` suggestion, while two clusters
 * with nothing between them do not.
 */
import { describe, expect, it } from 'vitest';
import { confusablePairs, labelIssues } from '../../src-main/curation/findings';
import { fitSoftmax, outOfSampleProbs, predictSoftmax, stratifiedFolds } from '../../src-main/curation/label-model';
import { neighboursWithin, unitRows } from '../../src-main/curation/neighbours';
import { projectMap } from '../../src-main/curation/projection';
import { Rng } from '../../src-main/mixup/rng';

describe('confident learning', () => {
  it('uses the mean self-confidence of each class as its threshold and flags the off-diagonal of the confident joint', () => {
    // Class 0 samples: p0 = 0.9, 0.8, 0.1 (→ threshold 0.6); class 1: p1 = 0.7, 0.9 (threshold 0.8).
    const probs = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.1, 0.9, 0.3, 0.7, 0.1, 0.9]);
    const y = Int32Array.from([0, 0, 0, 1, 1]);
    const r = labelIssues(probs, 5, 2, y);
    expect(r.thresholds[0]).toBeCloseTo(0.6, 6);
    expect(r.thresholds[1]).toBeCloseTo(0.8, 6);
    // Sample 2 (filed 0, p1 = 0.9 ≥ 0.8) is a suspect; sample 3 (filed 1, p1 = 0.7 < 0.8, p0 = 0.3 < 0.6) reaches no threshold.
    expect(r.issues).toEqual([{ row: 2, given: 0, suggested: 1, score: expect.closeTo(0.9, 6) }]);
    expect(r.joint).toEqual([
      [2, 1],
      [0, 1],
    ]);
  });
});

/** Gaussian clusters: `centres` (each d values), `per` points each, spread `sd`. */
function clusters(centres: number[][], per: number, sd: number, seed: number): { x: Float32Array; y: Int32Array; n: number; d: number } {
  const rng = new Rng(seed);
  const d = centres[0]!.length;
  const n = centres.length * per;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  centres.forEach((c, k) => {
    for (let i = 0; i < per; i++) {
      const r = k * per + i;
      y[r] = k;
      for (let j = 0; j < d; j++) x[r * d + j] = c[j]! + sd * rng.normal();
    }
  });
  return { x, y, n, d };
}

describe('the softmax regression', () => {
  it('stops at a minimum of the penalised objective (no nearby point is lower) and separates separable clusters', async () => {
    const { x, y, n, d } = clusters([[2, 0, 0], [0, 2, 0], [0, 0, 2]], 60, 0.5, 1);
    const rows = Array.from({ length: n }, (_, i) => i);
    const m = await fitSoftmax(x, d, y, 3, rows);
    const objective = (theta: Float64Array) => {
      const p = predictSoftmax({ ...m, theta }, x, rows);
      let f = 0;
      for (let i = 0; i < n; i++) f -= Math.log(p[i * 3 + y[i]!]!);
      let reg = 0;
      for (let k = 0; k < d * 3; k++) reg += theta[k]! ** 2;
      return f / n + reg / (2 * n);
    };
    const best = objective(m.theta);
    const rng = new Rng(2);
    for (let t = 0; t < 20; t++) {
      const moved = Float64Array.from(m.theta, (v) => v + 0.01 * rng.normal());
      expect(objective(moved)).toBeGreaterThanOrEqual(best - 1e-6);
    }
    const p = predictSoftmax(m, x, rows);
    let right = 0;
    for (let i = 0; i < n; i++) if (p[i * 3 + y[i]!]! > 0.5) right++;
    expect(right / n).toBeGreaterThan(0.95);
  });

  it('deals each class evenly round the folds, the same way for the same seed', () => {
    const y = Int32Array.from({ length: 103 }, (_, i) => i % 3);
    const a = stratifiedFolds(y, 3, 5, 7);
    expect(stratifiedFolds(y, 3, 5, 7)).toEqual(a);
    expect(stratifiedFolds(y, 3, 5, 8)).not.toEqual(a);
    for (let c = 0; c < 3; c++) {
      const sizes = [0, 0, 0, 0, 0];
      y.forEach((v, i) => v === c && sizes[a[i]!]++);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('gives each sample a probability from a model that never saw it (a flipped label stays suspect)', async () => {
    const { x, y, n } = clusters([[3, 0], [0, 3]], 40, 0.4, 3);
    y[5] = 1; // a class-0 point filed as class 1
    const { probs } = await outOfSampleProbs(x, n, 2, y, 2, { folds: 5, seed: 1 });
    expect(probs[5 * 2 + 1]!).toBeLessThan(0.2);
    expect(labelIssues(probs, n, 2, y).issues[0]).toMatchObject({ row: 5, given: 1, suggested: 0 });
  });
});

describe('intrusion', () => {
  it('suggests forbidding a pair whose blends land on a third class between them, and not a pair with nothing between', async () => {
    // A at (1, 0, 0), B at (0, 1, 0), C right between them at (0.5, 0.5, 0); D far off at (0, 0, 1).
    const { x, y, n, d } = clusters([[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0], [0, 0, 1]], 50, 0.03, 4);
    const probs = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) probs[i * 4 + y[i]!] = 1;
    const u = unitRows(x, n, d);
    const nb = await neighboursWithin(u, d, Array.from({ length: n }, (_, i) => i), 15);
    const pairs = await confusablePairs(probs, n, 4, y, x, u, d, nb, ['A', 'B', 'C', 'D'], { alpha: 1, seed: 1, blends: 200 });
    const ab = pairs.find((p) => p.a === 0 && p.b === 1)!;
    const ad = pairs.find((p) => p.a === 0 && p.b === 3)!;
    expect(ab.suggestion).toBe('forbid');
    expect(ab.intruder).toBe(2);
    expect(ab.intrusion!).toBeGreaterThan(0.2);
    expect(ab.reason).toMatch(/^blends of A and B land among C \d+ % more often/);
    expect(ad.suggestion).toBeNull();
    expect(pairs[0]).toBe(ab);
  });
});

describe('the map', () => {
  /** Share of points whose nearest other point on the map is of the same cluster. */
  const mapPurity = (xy: Float32Array, y: Int32Array, n: number) => {
    let same = 0;
    for (let i = 0; i < n; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const dd = (xy[i * 2]! - xy[j * 2]!) ** 2 + (xy[i * 2 + 1]! - xy[j * 2 + 1]!) ** 2;
        if (dd < bestD) {
          bestD = dd;
          best = j;
        }
      }
      if (y[best] === y[i]) same++;
    }
    return same / n;
  };

  it('keeps clusters apart, whole or laid out from landmarks (the path past UMAP_MAX images), the same for the same seed', async () => {
    const centres = Array.from({ length: 4 }, (_, k) => Array.from({ length: 8 }, (_, j) => (j === k ? 3 : 0)));
    const { x, y, n, d } = clusters(centres, 75, 0.4, 9);
    const u = unitRows(x, n, d);
    const nb = await neighboursWithin(u, d, Array.from({ length: n }, (_, i) => i), 10);
    const whole = await projectMap(u, n, d, nb, { seed: 1 });
    const landmarks = await projectMap(u, n, d, nb, { seed: 1, umapMax: 60 });
    expect(whole.method).toBe('umap');
    expect(mapPurity(whole.xy, y, n)).toBeGreaterThan(0.95);
    expect(mapPurity(landmarks.xy, y, n)).toBeGreaterThan(0.9);
    expect((await projectMap(u, n, d, nb, { seed: 1, umapMax: 60 })).xy).toEqual(landmarks.xy);
    for (const v of landmarks.xy) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  }, 60_000);
});

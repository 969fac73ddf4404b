/**
 * Out-of-sample class probabilities for confident learning: K stratified folds (seeded), and on each a softmax
 * regression fitted on the other folds' embeddings — standardised features, L2 penalty, L-BFGS — the same model
 * as scikit-learn's `LogisticRegression()` (multinomial, C = 1, lbfgs, 100 iterations, tol 1e-4), so the
 * reference in `bench:curate` fits the same thing. The two products per iteration run in onnxruntime.
 */
import { throwIfCancelled } from '../core/errors';
import { Rng } from '../mixup/rng';
import { SoftmaxObjective } from './ort-math';

export interface FoldOptions {
  folds?: number;
  seed?: number | string;
  signal?: AbortSignal;
  /** Called after each fold: folds done, folds in all. */
  onFold?: (done: number, total: number) => void;
  /** L2 strength as scikit-learn's C (default 1). */
  c?: number;
  maxIter?: number;
}

/** Fold of each sample: within each class the samples are shuffled (seeded) and dealt round the folds. */
export function stratifiedFolds(labels: Int32Array, classes: number, k: number, seed: number | string): Int32Array {
  const rng = new Rng(seed).fork('curation-folds');
  const fold = new Int32Array(labels.length);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((y, i) => byClass[y]!.push(i));
  let offset = 0;
  for (const members of byClass) {
    rng.shuffle(members);
    members.forEach((i, j) => (fold[i] = (offset + j) % k));
    offset = (offset + members.length) % k;
  }
  return fold;
}

/** Feature means and standard deviations (a constant feature gets 1). */
function moments(x: Float32Array, rows: number[], d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const i of rows) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = x[o + j]!;
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    mean[j] /= rows.length;
    const v = sq[j]! / rows.length - mean[j]! * mean[j]!;
    std[j] = v > 1e-12 ? Math.sqrt(v) : 1;
  }
  return { mean, std };
}

function standardised(x: Float32Array, rows: number[], d: number, m: { mean: Float64Array; std: Float64Array }): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((i, r) => {
    const o = i * d;
    const p = r * d;
    for (let j = 0; j < d; j++) out[p + j] = (x[o + j]! - m.mean[j]!) / m.std[j]!;
  });
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export interface SoftmaxModel {
  d: number;
  c: number;
  /** d × c weights on standardised features, then c biases. */
  theta: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  iterations: number;
}

/** Fits the softmax regression on the rows `train` of x (n × d) with labels y. */
export async function fitSoftmax(x: Float32Array, d: number, y: Int32Array, c: number, train: number[], opts: { c?: number; maxIter?: number; signal?: AbortSignal } = {}): Promise<SoftmaxModel> {
  const n = train.length;
  const m = moments(x, train, d);
  const xs = standardised(x, train, d, m);
  const yy = Int32Array.from(train, (i) => y[i]!);
  const objective = await SoftmaxObjective.create(xs, n, d, yy, c);
  const lambda = 1 / ((opts.c ?? 1) * n);
  const size = d * c + c;
  const w32 = new Float32Array(d * c);
  const b32 = new Float32Array(c);

  /** Objective and gradient at theta: the mean cross-entropy plus the L2 penalty on the weights. */
  const evaluate = async (theta: Float64Array, grad: Float64Array): Promise<number> => {
    for (let k = 0; k < d * c; k++) w32[k] = theta[k]!;
    for (let j = 0; j < c; j++) b32[j] = theta[d * c + j]!;
    const { loglik, gw, gb } = await objective.evaluate(w32, b32);
    let reg = 0;
    for (let k = 0; k < d * c; k++) {
      grad[k] = gw[k]! / n + lambda * theta[k]!;
      reg += theta[k]! * theta[k]!;
    }
    for (let j = 0; j < c; j++) grad[d * c + j] = gb[j]! / n;
    return -loglik / n + (lambda / 2) * reg;
  };

  // L-BFGS (10 pairs) with a backtracking Armijo line search.
  const maxIter = opts.maxIter ?? 100;
  const memory = 10;
  const theta = new Float64Array(size);
  const grad = new Float64Array(size);
  let f = await evaluate(theta, grad);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(size);
  const next = new Float64Array(size);
  const nextGrad = new Float64Array(size);
  let iterations = 0;
  try {
    for (; iterations < maxIter; iterations++) {
      throwIfCancelled(opts.signal, 'curation');
      let gmax = 0;
      for (let k = 0; k < size; k++) gmax = Math.max(gmax, Math.abs(grad[k]!));
      if (gmax < 1e-4) break;
      // Two-loop recursion: dir = -H·grad.
      dir.set(grad);
      const alpha: number[] = [];
      for (let h = sList.length - 1; h >= 0; h--) {
        const a = rho[h]! * dot(sList[h]!, dir);
        alpha[h] = a;
        const yh = yList[h]!;
        for (let k = 0; k < size; k++) dir[k]! -= a * yh[k]!;
      }
      if (sList.length) {
        const last = sList.length - 1;
        const gamma = dot(sList[last]!, yList[last]!) / dot(yList[last]!, yList[last]!);
        for (let k = 0; k < size; k++) dir[k]! *= gamma;
      } else {
        const norm = Math.sqrt(dot(grad, grad));
        for (let k = 0; k < size; k++) dir[k]! /= Math.max(norm, 1);
      }
      for (let h = 0; h < sList.length; h++) {
        const b = rho[h]! * dot(yList[h]!, dir);
        const sh = sList[h]!;
        for (let k = 0; k < size; k++) dir[k]! += sh[k]! * (alpha[h]! - b);
      }
      for (let k = 0; k < size; k++) dir[k] = -dir[k]!;
      let slope = dot(grad, dir);
      if (slope >= 0) {
        // Not a descent direction: restart from the gradient.
        sList.length = yList.length = rho.length = 0;
        for (let k = 0; k < size; k++) dir[k] = -grad[k]!;
        slope = -dot(grad, grad);
      }
      let step = 1;
      let fNext = Infinity;
      for (let tries = 0; tries < 30; tries++) {
        for (let k = 0; k < size; k++) next[k] = theta[k]! + step * dir[k]!;
        fNext = await evaluate(next, nextGrad);
        if (fNext <= f + 1e-4 * step * slope) break;
        step /= 2;
      }
      if (!(fNext < f)) break;
      const s = new Float64Array(size);
      const yv = new Float64Array(size);
      for (let k = 0; k < size; k++) {
        s[k] = next[k]! - theta[k]!;
        yv[k] = nextGrad[k]! - grad[k]!;
      }
      const sy = dot(s, yv);
      if (sy > 1e-12) {
        sList.push(s);
        yList.push(yv);
        rho.push(1 / sy);
        if (sList.length > memory) {
          sList.shift();
          yList.shift();
          rho.shift();
        }
      }
      const change = f - fNext;
      theta.set(next);
      grad.set(nextGrad);
      f = fNext;
      if (change < 1e-10 * Math.max(1, Math.abs(f))) {
        iterations++;
        break;
      }
    }
  } finally {
    await objective.release();
  }
  return { d, c, theta, mean: m.mean, std: m.std, iterations };
}

/** Class probabilities of the rows `rows` of x (rows.length × c). */
export function predictSoftmax(model: SoftmaxModel, x: Float32Array, rows: number[]): Float32Array {
  const { d, c, theta, mean, std } = model;
  const out = new Float32Array(rows.length * c);
  const z = new Float64Array(c);
  const xi = new Float64Array(d);
  rows.forEach((i, r) => {
    const o = i * d;
    for (let j = 0; j < d; j++) xi[j] = (x[o + j]! - mean[j]!) / std[j]!;
    for (let k = 0; k < c; k++) z[k] = theta[d * c + k]!;
    for (let j = 0; j < d; j++) {
      const v = xi[j]!;
      if (v === 0) continue;
      const row = j * c;
      for (let k = 0; k < c; k++) z[k]! += v * theta[row + k]!;
    }
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, z[k]!);
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(z[k]! - max);
    for (let k = 0; k < c; k++) out[r * c + k] = Math.exp(z[k]! - max) / sum;
  });
  return out;
}

/**
 * Out-of-sample probabilities (n × c): each sample's row comes from the model fitted on the folds it is not
 * in. `folds` is capped by the sample count (at least 2).
 */
export async function outOfSampleProbs(x: Float32Array, n: number, d: number, y: Int32Array, c: number, opts: FoldOptions = {}): Promise<{ probs: Float32Array; folds: number; iterations: number[] }> {
  const k = Math.max(2, Math.min(opts.folds ?? 5, n));
  const fold = stratifiedFolds(y, c, k, opts.seed ?? 0);
  const probs = new Float32Array(n * c);
  const iterations: number[] = [];
  for (let f = 0; f < k; f++) {
    throwIfCancelled(opts.signal, 'curation');
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? held : train).push(i);
    if (held.length === 0) continue;
    const model = await fitSoftmax(x, d, y, c, train, { c: opts.c, maxIter: opts.maxIter, signal: opts.signal });
    iterations.push(model.iterations);
    const p = predictSoftmax(model, x, held);
    held.forEach((i, r) => probs.set(p.subarray(r * c, (r + 1) * c), i * c));
    opts.onFold?.(f + 1, k);
  }
  return { probs, folds: k, iterations };
}

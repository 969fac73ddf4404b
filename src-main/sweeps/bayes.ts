/**
 * `--method bayes` (issue 16): a Gaussian process over the swept keys with expected improvement, like W&B's
 * `bayes_search.py`, small enough to read whole.
 *
 * - Every key becomes coordinates in [0, 1]: a range by its position (log ranges in log space), a list of
 *   numbers by the value's position between the smallest and the largest, any other list one-hot.
 * - The metric is made "lower is better" and standardised; the GP has a Matérn 5/2 kernel (unit variance, a
 *   small noise) whose length scale is the one of a fixed ladder with the highest marginal likelihood.
 * - Candidates: random points of the space (and, for a space of lists only, all of its points), drawn from a
 *   stream forked from the sweep's seed and the trial's index, so a sweep is the same on every replay of the
 *   same results. The one with the largest expected improvement (ξ = 0.01) is next; ties go to the first.
 * - The first trials (one more than the coordinates, 2 to 5) are random, as a GP needs points to stand on.
 * - Trials still running (`--parallel`) count as observed at the mean of what is known ("constant liar"), so
 *   two workers are not sent to the same place.
 */
import type { Rng } from '../mixup/rng';
import { gridPoints, gridSize, pointKey, randomPoint, type ParamSpec, type Point } from './space';

export interface Observation {
  point: Point;
  /** The metric, lower is better (the caller negates a metric to maximise). */
  value: number;
}

/** The coordinates of a point in [0, 1]^d. */
export function encode(space: ParamSpec[], p: Point): number[] {
  const out: number[] = [];
  for (const s of space) {
    const v = p[s.key];
    if (s.kind === 'range') {
      const x = s.scale === 'log' ? (Math.log(v as number) - Math.log(s.min)) / (Math.log(s.max) - Math.log(s.min)) : ((v as number) - s.min) / (s.max - s.min);
      out.push(x);
    } else if (s.values.every((x) => typeof x === 'number')) {
      const nums = s.values as number[];
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      out.push(hi > lo ? ((v as number) - lo) / (hi - lo) : 0.5);
    } else {
      const k = JSON.stringify(v);
      for (const x of s.values) out.push(JSON.stringify(x) === k ? 1 : 0);
    }
  }
  return out;
}

export function matern52(r: number, lengthScale: number): number {
  const a = (Math.sqrt(5) * r) / lengthScale;
  return (1 + a + (a * a) / 3) * Math.exp(-a);
}

function dist(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Lower Cholesky factor of a symmetric positive definite n×n matrix (row-major), or null if it is not. */
export function cholesky(m: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return l;
}

/** Solves L·x = b (forward) for a lower-triangular L. */
function forward(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/** Solves Lᵀ·x = b (backward). */
function backward(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

export const LENGTH_SCALES = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2];
const NOISE = 1e-4;

export interface Gp {
  lengthScale: number;
  /** Posterior mean and standard deviation at x, in standardised units. */
  predict(x: number[]): { mean: number; sd: number };
  logLikelihood: number;
}

/** Fits the GP to standardised targets `y` at `xs`: the length scale of the ladder with the best likelihood. */
export function fitGp(xs: number[][], y: number[]): Gp {
  const n = xs.length;
  let best: Gp | null = null;
  for (const ls of LENGTH_SCALES) {
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] = matern52(dist(xs[i], xs[j]), ls) + (i === j ? NOISE : 0);
    const l = cholesky(k, n);
    if (!l) continue;
    const alpha = backward(l, n, forward(l, n, y));
    let logDet = 0;
    for (let i = 0; i < n; i++) logDet += Math.log(l[i * n + i]);
    let fit = 0;
    for (let i = 0; i < n; i++) fit += y[i] * alpha[i];
    const ll = -0.5 * fit - logDet - 0.5 * n * Math.log(2 * Math.PI);
    if (best && ll <= best.logLikelihood) continue;
    best = {
      lengthScale: ls,
      logLikelihood: ll,
      predict(x) {
        const ks = xs.map((xi) => matern52(dist(xi, x), ls));
        let mean = 0;
        for (let i = 0; i < n; i++) mean += ks[i] * alpha[i];
        const v = forward(l, n, ks);
        let vv = 0;
        for (let i = 0; i < n; i++) vv += v[i] * v[i];
        return { mean, sd: Math.sqrt(Math.max(1 + NOISE - vv, 1e-12)) };
      },
    };
  }
  if (!best) throw new Error('the Gaussian process could not be fitted (no length scale gave a positive definite kernel)');
  return best;
}

/** Φ, the standard normal CDF (Abramowitz & Stegun 7.1.26 through erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Expected improvement below `best` (minimisation) of a normal prediction. */
export function expectedImprovement(mean: number, sd: number, best: number, xi = 0.01): number {
  const imp = best - mean - xi;
  if (sd <= 1e-12) return Math.max(imp, 0);
  const z = imp / sd;
  return imp * normalCdf(z) + sd * normalPdf(z);
}

/** How many coordinates the space has (the random start is one more, 2 to 5). */
export function initialRandomTrials(space: ParamSpec[]): number {
  const d = encode(space, randomPointForShape(space)).length;
  return Math.min(5, Math.max(2, d + 1));
}

function randomPointForShape(space: ParamSpec[]): Point {
  return Object.fromEntries(space.map((s) => [s.key, s.kind === 'values' ? s.values[0] : s.min]));
}

const CANDIDATES = 1000;

/**
 * The next point to try, given what was observed and what is still running; `rng` is the trial's own stream.
 * Returns a random point while there are too few observations for the GP.
 */
export function suggestPoint(space: ParamSpec[], observed: Observation[], pending: Point[], rng: Rng): Point {
  const ok = observed.filter((o) => Number.isFinite(o.value));
  const listsOnly = space.every((s) => s.kind === 'values');
  const seen = new Set([...observed.map((o) => pointKey(o.point)), ...pending.map(pointKey)]);
  if (ok.length < initialRandomTrials(space)) {
    // A random start; in a space of lists, an untried point while there is one.
    let p = randomPoint(space, rng);
    for (let i = 0; listsOnly && seen.has(pointKey(p)) && i < 100; i++) p = randomPoint(space, rng);
    return p;
  }
  const mean = ok.reduce((s, o) => s + o.value, 0) / ok.length;
  const all = [...ok, ...pending.map((point) => ({ point, value: mean }))];
  const sd = Math.sqrt(all.reduce((s, o) => s + (o.value - mean) ** 2, 0) / all.length) || 1;
  const y = all.map((o) => (o.value - mean) / sd);
  const gp = fitGp(all.map((o) => encode(space, o.point)), y);
  const best = Math.min(...ok.map((o) => (o.value - mean) / sd));
  const tried = seen;
  let candidates: Point[] = [];
  if (listsOnly && gridSize(space) <= 5000) candidates = gridPoints(space).filter((p) => !tried.has(pointKey(p)));
  for (let i = 0; i < CANDIDATES; i++) {
    const p = randomPoint(space, rng);
    if (!listsOnly || !tried.has(pointKey(p))) candidates.push(p);
  }
  // Every point of a small list space was tried: another draw repeats one (the sweep then has its answer).
  if (candidates.length === 0) return randomPoint(space, rng);
  let pick = candidates[0];
  let bestEi = -Infinity;
  for (const c of candidates) {
    const { mean: m, sd: s } = gp.predict(encode(space, c));
    const ei = expectedImprovement(m, s, best);
    if (ei > bestEi) {
      bestEi = ei;
      pick = c;
    }
  }
  return pick;
}

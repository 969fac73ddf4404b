/**
 * Evaluation metrics on plain arrays (no tfjs): accuracy, per-class accuracy, confusion matrix, expected
 * calibration error and negative log-likelihood. Inputs are the softmax probabilities of N samples over C
 * classes, row-major (`probs[i * C + c]`), and the true labels.
 */

export interface EvalMetrics {
  count: number;
  accuracy: number;
  /** Mean −log p(true class), probabilities clipped at 1e-12 (the validation loss). */
  nll: number;
  /** Expected calibration error over equal-width confidence bins (15 by default). */
  ece: number;
  /** Accuracy per class index (NaN-free: a class with no samples gets null). */
  perClassAccuracy: Array<number | null>;
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

export function argmaxRows(probs: ArrayLike<number>, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestP = probs[i * c];
    for (let k = 1; k < c; k++) {
      const p = probs[i * c + k];
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, c: number): number[][] {
  const m = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][predicted[i]] += 1;
  return m;
}

export function perClassAccuracy(confusion: number[][]): Array<number | null> {
  return confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : row[k] / total;
  });
}

/**
 * ECE (Guo et al. 2017): bins (b/B, (b+1)/B] over the top-class confidence; Σ_b |B_b|/N · |acc(B_b) − conf(B_b)|.
 * A confidence of exactly 0 falls in the first bin.
 */
export function expectedCalibrationError(probs: ArrayLike<number>, labels: ArrayLike<number>, c: number, bins = 15): number {
  const n = labels.length;
  if (n === 0) return 0;
  const count = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let conf = probs[i * c];
    for (let k = 1; k < c; k++) {
      if (probs[i * c + k] > conf) {
        conf = probs[i * c + k];
        best = k;
      }
    }
    let b = Math.ceil(conf * bins) - 1;
    if (b < 0) b = 0;
    if (b >= bins) b = bins - 1;
    count[b] += 1;
    confSum[b] += conf;
    if (best === labels[i]) correct[b] += 1;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    ece += (count[b] / n) * Math.abs(correct[b] / count[b] - confSum[b] / count[b]);
  }
  return ece;
}

export function negativeLogLikelihood(probs: ArrayLike<number>, labels: ArrayLike<number>, c: number): number {
  const n = labels.length;
  if (n === 0) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) s -= Math.log(Math.max(probs[i * c + labels[i]], 1e-12));
  return s / n;
}

export function evaluateProbabilities(probs: ArrayLike<number>, labels: ArrayLike<number>, c: number, bins = 15): EvalMetrics {
  const n = labels.length;
  if (probs.length !== n * c) throw new RangeError(`expected ${n}×${c} probabilities, got ${probs.length}`);
  const predicted = argmaxRows(probs, n, c);
  const confusion = confusionMatrix(labels, predicted, c);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) correct += 1;
  return {
    count: n,
    accuracy: n === 0 ? 0 : correct / n,
    nll: negativeLogLikelihood(probs, labels, c),
    ece: expectedCalibrationError(probs, labels, c, bins),
    perClassAccuracy: perClassAccuracy(confusion),
    confusion,
  };
}

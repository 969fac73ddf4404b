/**
 * Temperature scaling (Guo et al. 2017) of a trained run: one scalar T fitted on the validation split's
 * probabilities (minimising the NLL of softmax(log p / T), golden-section search over log T), then ECE before
 * and after on the test split when there is one (else on val, said as `split`), and the reliability diagram of
 * both. MixUp changes calibration, and can make temperature scaling worse (Wang et al., CVPR 2023): a run
 * records both, so the user sees which.
 *
 * T is fitted only where it can be: a val split of at least MIN_FIT_IMAGES images with at least one error (on a
 * split the model gets all right, the NLL falls for ever as T → 0, and the "fit" would sharpen everything); else
 * T stays 1, `fitted` is false and `reason` says why.
 */
import { expectedCalibrationError, negativeLogLikelihood } from './metrics';

export interface ReliabilityBin {
  /** The bin's upper edge of top-class confidence ((b/B, (b+1)/B]). */
  upper: number;
  count: number;
  /** Mean top-class confidence of the bin's samples (null when empty). */
  confidence: number | null;
  /** Their accuracy (null when empty). */
  accuracy: number | null;
}

export const MIN_FIT_IMAGES = 50;

export interface Calibration {
  /** The fitted temperature (1 = unchanged; > 1 softens over-confident predictions). */
  temperature: number;
  /** Whether T was fitted (false: too few val images, or none wrong; T is then 1). */
  fitted: boolean;
  /** Why T was not fitted, or that it ended on a bound of its search (0.05 or 20). */
  reason: string | null;
  /** On val, where T was fitted (what a sweep ranks by, so that test stays out of every choice). */
  val: { count: number; ece: number; eceCalibrated: number };
  /** Where ECE before/after was measured: the test split when the dataset has one, else val (where T was fitted). */
  split: 'test' | 'val';
  count: number;
  ece: number;
  eceCalibrated: number;
  nll: number;
  nllCalibrated: number;
  reliability: { before: ReliabilityBin[]; after: ReliabilityBin[] };
}

/** softmax(log p / T) per row. */
export function scaleProbabilities(probs: ArrayLike<number>, c: number, t: number): Float64Array {
  const rows = probs.length / c;
  const out = new Float64Array(probs.length);
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let k = 0; k < c; k++) {
      // Float32 probabilities reach 1e-38 and below; a floor of 1e-300 keeps their logit gaps (a 1e-12 floor cuts them at 27.6).
      const z = Math.log(Math.max(probs[i * c + k], 1e-300)) / t;
      out[i * c + k] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let k = 0; k < c; k++) {
      const e = Math.exp(out[i * c + k] - max);
      out[i * c + k] = e;
      sum += e;
    }
    for (let k = 0; k < c; k++) out[i * c + k] /= sum;
  }
  return out;
}

/** The temperature minimising the NLL of the scaled probabilities, in [0.05, 20] (golden-section on log T). */
export function fitTemperature(probs: ArrayLike<number>, labels: ArrayLike<number>, c: number): number {
  const nll = (logT: number) => negativeLogLikelihood(scaleProbabilities(probs, c, Math.exp(logT)), labels, c);
  let a = Math.log(0.05);
  let b = Math.log(20);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let f1 = nll(x1);
  let f2 = nll(x2);
  for (let i = 0; i < 60 && b - a > 1e-5; i++) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = nll(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = nll(x2);
    }
  }
  return Math.exp((a + b) / 2);
}

export function reliabilityBins(probs: ArrayLike<number>, labels: ArrayLike<number>, c: number, bins = 15): ReliabilityBin[] {
  const count = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (probs[i * c + k] > probs[i * c + best]) best = k;
    const conf = probs[i * c + best];
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    count[b] += 1;
    confSum[b] += conf;
    if (best === labels[i]) correct[b] += 1;
  }
  return Array.from({ length: bins }, (_, b) => ({
    upper: (b + 1) / bins,
    count: count[b],
    confidence: count[b] ? confSum[b] / count[b] : null,
    accuracy: count[b] ? correct[b] / count[b] : null,
  }));
}

/** Fits T on `val`, measures on `test` when given (else on val). */
export function calibrate(
  val: { probs: ArrayLike<number>; labels: ArrayLike<number> },
  test: { probs: ArrayLike<number>; labels: ArrayLike<number> } | null,
  c: number,
): Calibration {
  const n = val.labels.length;
  let wrong = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (val.probs[i * c + k] > val.probs[i * c + best]) best = k;
    if (best !== val.labels[i]) wrong++;
  }
  let temperature = 1;
  let reason: string | null = null;
  if (n < MIN_FIT_IMAGES) reason = `not fitted: ${n} val image${n === 1 ? '' : 's'} (at least ${MIN_FIT_IMAGES} needed)`;
  else if (wrong === 0) reason = 'not fitted: every val image is right, so any T below 1 lowers the NLL without end';
  else {
    temperature = fitTemperature(val.probs, val.labels, c);
    if (temperature < 0.051 || temperature > 19.9) reason = `T ended on a bound of its search (${temperature.toFixed(3)})`;
  }
  const on = test && test.labels.length > 0 ? test : val;
  const scaled = scaleProbabilities(on.probs, c, temperature);
  const valScaled = on === val ? scaled : scaleProbabilities(val.probs, c, temperature);
  return {
    temperature,
    fitted: temperature !== 1 || reason === null,
    reason,
    val: { count: n, ece: expectedCalibrationError(val.probs, val.labels, c), eceCalibrated: expectedCalibrationError(valScaled, val.labels, c) },
    split: on === val ? 'val' : 'test',
    count: on.labels.length,
    ece: expectedCalibrationError(on.probs, on.labels, c),
    eceCalibrated: expectedCalibrationError(scaled, on.labels, c),
    nll: negativeLogLikelihood(on.probs, on.labels, c),
    nllCalibrated: negativeLogLikelihood(scaled, on.labels, c),
    reliability: { before: reliabilityBins(on.probs, on.labels, c), after: reliabilityBins(scaled, on.labels, c) },
  };
}

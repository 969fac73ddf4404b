/**
 * The MixUp engine's tensor half: applies the plans of ./plan.ts to a batch (MixUp, CutMix, manifold MixUp on
 * hidden activations) and builds the soft targets, with tfjs ops inside `tf.tidy`.
 *
 * Training only, by construction: a mixer has no evaluation entry point and no "identity mode" switch. It
 * only applies plans made by its own planner (plans are branded; a hand-made object is refused), and the
 * evaluation, prediction and export paths take no mixer argument at all — they cannot reach one.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors';
import type { RunConfig } from '../config/run-config';
import {
  isPlannedBatch,
  KIND_CUTMIX,
  KIND_MIXUP,
  planTargets,
  Planner,
  type EpochAudit,
  type EpochSchedule,
  type MixPlan,
  type PairPolicy,
  type PlannerState,
} from './plan';
import type { Rng } from './rng';

export type { EpochAudit, EpochSchedule, MixPlan, PairPolicy } from './plan';

export interface MixerOptions {
  config: RunConfig;
  /** Class names, index = label index. */
  classes: string[];
  /** The pair policy in force (by class name); null = every pair allowed. */
  policy: PairPolicy | null;
  /** The generator all mixing draws come from (e.g. `runStreams(seed).mixup`). */
  rng: Rng;
  /** [height, width] CutMix boxes are cut at; default config.model.inputSize. */
  inputSize?: readonly [number, number] | null;
  /** Keep at most this many raw λ per epoch in the audit (default: all). */
  maxLambdas?: number;
  /**
   * How applyToInputs mixes: `array` on the host typed array (fastest where tensors live in host memory),
   * `ops` with tfjs ops on the backend (GPU backends); `auto` (default) picks `array` on cpu/wasm.
   */
  inputMixing?: 'auto' | 'array' | 'ops';
}

export interface Mixer {
  readonly classes: readonly string[];
  /** The resolved knobs of an epoch. */
  scheduleFor(epoch: number): EpochSchedule;
  /** Plans one batch (pure: partners, λ, kinds, boxes, reasons) and records it in the epoch's audit. */
  planBatch(labels: ArrayLike<number>, epoch: number): MixPlan;
  /** The mixed inputs of a plan made at the input (x: [n, h, w, c]). */
  applyToInputs(plan: MixPlan, x: tf.Tensor4D): tf.Tensor4D;
  /** Manifold MixUp: the mixed hidden activations (any rank, batch first) of a plan made at a layer. */
  applyToFeatures(plan: MixPlan, h: tf.Tensor): tf.Tensor;
  /** The soft targets [n, numClasses]: label smoothing first, then mixing. */
  targets(plan: MixPlan, labels: ArrayLike<number>, numClasses: number): tf.Tensor2D;
  /** The audit of an epoch (null when nothing was planned for it). */
  audit(epoch: number): EpochAudit | null;
  audits(): EpochAudit[];
  dropAudit(epoch: number): void;
  /** JSON state for checkpoints (rng and audit in progress); `setState` continues identically. */
  getState(): PlannerState;
  setState(state: PlannerState): void;
}

function checkPlan(plan: MixPlan, n: number, what: string): void {
  if (!isPlannedBatch(plan)) throw new AppError('internal', `${what}: the plan was not made by a mixer's planBatch`);
  if (n !== plan.size) throw new AppError('internal', `${what}: the batch has ${n} samples, the plan ${plan.size}`);
}

function anyMixed(plan: MixPlan): boolean {
  for (let i = 0; i < plan.size; i++) if (plan.kind[i] !== 0 && plan.reasons[i] === null) return true;
  return false;
}

/** Per-sample weight of the partner's values for MixUp samples (1 − λ), 0 for the others. */
function partnerWeights(plan: MixPlan): Float32Array {
  const b = new Float32Array(plan.size);
  for (let i = 0; i < plan.size; i++) if (plan.kind[i] === KIND_MIXUP && plan.reasons[i] === null) b[i] = 1 - plan.lambda[i];
  return b;
}

/**
 * Applies a plan to a tensor whose first axis is the batch: out = x + B ⊙ (x[partner] − x), where B is
 * 1 − λ for MixUp samples, the box mask for CutMix samples (input only) and 0 for unmixed samples.
 */
function mixTensor(plan: MixPlan, x: tf.Tensor, allowBoxes: boolean): tf.Tensor {
  return tf.tidy(() => {
    if (!anyMixed(plan)) return x.clone();
    const n = plan.size;
    const rank = x.rank;
    const partnerIdx = tf.tensor1d(plan.partner, 'int32');
    const other = tf.gather(x, partnerIdx, 0);
    const diff = tf.sub(other, x);
    const bShape = [n, ...new Array(rank - 1).fill(1)];
    let weight: tf.Tensor = tf.tensor(partnerWeights(plan), bShape, 'float32');
    let hasCut = false;
    for (let i = 0; i < n; i++) if (plan.kind[i] === KIND_CUTMIX && plan.reasons[i] === null) hasCut = true;
    if (hasCut) {
      if (!allowBoxes || rank !== 4 || !plan.inputSize) {
        throw new AppError('internal', 'CutMix plans can only be applied to the input images [n, h, w, c]');
      }
      const [h, w] = plan.inputSize;
      if (x.shape[1] !== h || x.shape[2] !== w) {
        throw new AppError('input', `mixup: batch images are ${x.shape[1]}×${x.shape[2]}, the CutMix boxes were cut at ${h}×${w}`);
      }
      const y0 = new Float32Array(n);
      const x0 = new Float32Array(n);
      const y1 = new Float32Array(n);
      const x1 = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (plan.kind[i] !== KIND_CUTMIX || plan.reasons[i] !== null) continue;
        y0[i] = plan.boxes[4 * i];
        x0[i] = plan.boxes[4 * i + 1];
        y1[i] = plan.boxes[4 * i + 2];
        x1[i] = plan.boxes[4 * i + 3];
      }
      const rows = tf.range(0, h, 1, 'float32').reshape([1, h, 1, 1]);
      const cols = tf.range(0, w, 1, 'float32').reshape([1, 1, w, 1]);
      const col = (a: Float32Array) => tf.tensor4d(a, [n, 1, 1, 1]);
      const inRows = tf.logicalAnd(tf.greaterEqual(rows, col(y0)), tf.less(rows, col(y1)));
      const inCols = tf.logicalAnd(tf.greaterEqual(cols, col(x0)), tf.less(cols, col(x1)));
      const mask = tf.cast(tf.logicalAnd(inRows, inCols), 'float32'); // [n, h, w, 1]
      // MixUp samples keep their scalar weight; CutMix samples use the box mask.
      weight = tf.add(weight, mask);
    }
    return tf.add(x, tf.mul(diff, weight));
  });
}

/**
 * Applies a plan to images in host memory, row-major [n, h, w, c] (what the data pipeline makes): unmixed
 * samples are copied, MixUp samples blended `λ·x_i + (1−λ)·x_partner`, CutMix samples copied with the
 * partner's box rows pasted in. One pass over the bytes, close to a plain copy; the result is a new array
 * (or `out`), `src` is not changed.
 */
export function mixInputArray(plan: MixPlan, src: Float32Array, shape: readonly [number, number, number, number], out?: Float32Array): Float32Array {
  if (!isPlannedBatch(plan)) throw new AppError('internal', "mixInputArray: the plan was not made by a mixer's planBatch");
  const [n, h, w, c] = shape;
  if (n !== plan.size) throw new AppError('internal', `mixInputArray: the batch has ${n} samples, the plan ${plan.size}`);
  if (src.length !== n * h * w * c) throw new AppError('internal', `mixInputArray: ${src.length} values for shape [${shape.join(', ')}]`);
  if (plan.mixAt !== 'input') throw new AppError('internal', `mixInputArray: this batch is mixed at layer '${plan.mixAt}'`);
  const dst = out ?? new Float32Array(src.length);
  if (dst === src) throw new AppError('internal', 'mixInputArray: out must not be the input array');
  const per = h * w * c;
  const rowLen = w * c;
  for (let i = 0; i < n; i++) {
    const o = i * per;
    const k = plan.reasons[i] === null ? plan.kind[i] : 0;
    if (k === KIND_MIXUP) {
      const p = plan.partner[i] * per;
      const lam = plan.lambda[i];
      const mu = 1 - lam;
      // Views with 0-based indexes keep the inner loop simple for the JIT (about 1.5× faster than offsets).
      const a = src.subarray(o, o + per);
      const b = src.subarray(p, p + per);
      const d = dst.subarray(o, o + per);
      for (let e = 0; e < per; e++) d[e] = lam * a[e] + mu * b[e];
      continue;
    }
    dst.set(src.subarray(o, o + per), o);
    if (k === KIND_CUTMIX) {
      if (!plan.inputSize || plan.inputSize[0] !== h || plan.inputSize[1] !== w) {
        throw new AppError('input', `mixup: batch images are ${h}×${w}, the CutMix boxes were cut at ${plan.inputSize?.join('×')}`);
      }
      const p = plan.partner[i] * per;
      const y0 = plan.boxes[4 * i];
      const x0 = plan.boxes[4 * i + 1];
      const y1 = plan.boxes[4 * i + 2];
      const x1 = plan.boxes[4 * i + 3];
      for (let y = y0; y < y1; y++) {
        const from = p + y * rowLen + x0 * c;
        dst.set(src.subarray(from, from + (x1 - x0) * c), o + y * rowLen + x0 * c);
      }
    }
  }
  return dst;
}

/** Backends whose tensors live in host memory: mixing there is faster on the typed array than through ops. */
const HOST_BACKENDS = new Set(['cpu', 'wasm']);

/**
 * MixUp of activations with first axis = batch, as one matrix product: out = M · h, where row i of M has λ_i
 * at i and 1 − λ_i at the partner (an unmixed row is the identity row). Its gradient is a matMul too, so it
 * trains on every backend (a gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks).
 */
function mixFeatures(plan: MixPlan, h: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (!anyMixed(plan)) return h.clone();
    const n = plan.size;
    const m = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      if (plan.reasons[i] === null && plan.kind[i] === KIND_MIXUP) {
        m[i * n + i] += plan.lambda[i];
        m[i * n + plan.partner[i]] += 1 - plan.lambda[i];
      } else {
        m[i * n + i] = 1;
      }
    }
    const flat = tf.reshape(h, [n, -1]);
    const mixed = tf.matMul(tf.tensor2d(m, [n, n]), flat);
    return tf.reshape(mixed, h.shape);
  });
}

/** Creates the training loop's mixer. Only the training loop constructs one; evaluation never receives it. */
export function createMixer(opts: MixerOptions): Mixer {
  const planner = new Planner({
    config: opts.config,
    classes: opts.classes,
    policy: opts.policy,
    rng: opts.rng,
    inputSize: opts.inputSize,
    maxLambdas: opts.maxLambdas,
  });
  const inputMixing = opts.inputMixing ?? 'auto';
  return {
    classes: planner.classes,
    scheduleFor: (epoch) => planner.scheduleFor(epoch),
    planBatch: (labels, epoch) => planner.planBatch(labels, epoch),
    applyToInputs(plan, x) {
      checkPlan(plan, x.shape[0], 'applyToInputs');
      if (plan.mixAt !== 'input') {
        throw new AppError('internal', `applyToInputs: this batch is mixed at layer '${plan.mixAt}', use applyToFeatures on its output`);
      }
      const viaArray = inputMixing === 'array' || (inputMixing === 'auto' && HOST_BACKENDS.has(tf.getBackend()));
      if (viaArray && x.dtype === 'float32') {
        if (!anyMixed(plan)) return x.clone();
        const [n, h, w, c] = x.shape;
        return tf.tensor4d(mixInputArray(plan, x.dataSync() as Float32Array, [n, h, w, c]), x.shape, 'float32');
      }
      return mixTensor(plan, x, true) as tf.Tensor4D;
    },
    applyToFeatures(plan, h) {
      checkPlan(plan, h.shape[0], 'applyToFeatures');
      let cut = false;
      for (let i = 0; i < plan.size; i++) if (plan.kind[i] === KIND_CUTMIX && plan.reasons[i] === null) cut = true;
      if (cut) return mixTensor(plan, h, plan.mixAt === 'input');
      return mixFeatures(plan, h);
    },
    targets(plan, labels, numClasses) {
      checkPlan(plan, labels.length, 'targets');
      if (numClasses !== plan.numClasses) throw new AppError('internal', `targets: ${numClasses} classes, the plan has ${plan.numClasses}`);
      for (let i = 0; i < plan.size; i++) {
        if (labels[i] !== plan.labels[i]) throw new AppError('internal', `targets: label ${i} differs from the planned batch`);
      }
      return tf.tidy(() => tf.tensor2d(planTargets(plan), [plan.size, numClasses], 'float32'));
    },
    audit: (epoch) => planner.epochAudit(epoch),
    audits: () => planner.allAudits(),
    dropAudit: (epoch) => planner.dropAudit(epoch),
    getState: () => planner.getState(),
    setState: (state) => planner.setState(state),
  };
}

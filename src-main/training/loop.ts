/**
 * The training loop: per epoch, a seeded shuffle, batches (prefetched one ahead), the mixer's plan per batch
 * (input MixUp/CutMix, or Manifold MixUp at the block the plan names), soft-target cross-entropy, one
 * optimizer step; then an evaluation on the validation split that never sees a mixer.
 *
 * Determinism: every random draw comes from the run's streams (shuffle, augment, mixup) in a fixed order, and
 * their states are part of the checkpoint, so the same seed on the same backend gives the same epochs, with or
 * without a kill and resume in between.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors';
import type { Mixer, MixPlan } from '../mixup/mixer';
import { epochOrder, type Rng } from '../mixup/rng';
import type { Batch, BatchSource } from './batches';
import { evaluateProbabilities, type EvalMetrics } from './metrics';
import type { Network } from './models';
import { learningRateAt, type Optimizer, type OptimizerConfig } from './optim';

export interface LoopStreams {
  shuffle: Rng;
  augment: Rng;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** Mean training loss of the epoch so far. */
  trainLoss: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export interface EpochResult {
  epoch: number;
  trainLoss: number;
  lr: number;
  seconds: number;
  schedule: { active: boolean; alpha: number; prob: number };
  /** Batches per mixing point ('input' or a block name). */
  mixPoints: Record<string, number>;
  val: (EvalMetrics & { loss: number }) | null;
}

export interface LoopSetup {
  net: Network;
  optimizer: Optimizer;
  optimizerConfig: OptimizerConfig;
  epochs: number;
  batchSize: number;
  /** Images per validation batch (default max(batchSize, 256)): smaller when that would not fit in memory. */
  evalBatchSize?: number;
  numClasses: number;
  train: BatchSource;
  val: BatchSource | null;
  mixer: Mixer;
  streams: LoopStreams;
  /** First epoch to run (0, or the checkpoint's epoch on resume). */
  startEpoch: number;
}

export interface LoopHooks {
  onBatch?(p: BatchProgress): void;
  /** Persist the epoch (DB row, checkpoint). Awaited before the next epoch starts. */
  onEpoch(r: EpochResult): Promise<void>;
  /** Checked before every batch; true stops the loop (cancel). */
  shouldStop?(): boolean;
}

/** Where a plan's `mixAt` ('input' or a block name) enters the network: the index of the block run next. */
export function mixPointIndex(net: Network, mixAt: string): number {
  if (mixAt === 'input') return 0;
  const k = net.blockNames.indexOf(mixAt);
  if (k < 0 || k >= net.blockNames.length - 1) {
    throw new AppError(
      'input',
      `mixup.manifold.layers: '${mixAt}' is not a block whose output can be mixed (one of ${net.blockNames.slice(0, -1).join(', ')})`,
    );
  }
  return k + 1;
}

/** Checks the config's manifold layers against the model's blocks before any work. */
export function checkManifoldLayers(net: Network, layers: readonly string[]): void {
  for (const l of layers) mixPointIndex(net, l);
}

/** Mean soft-target cross-entropy of logits [n, C] against targets [n, C]. */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}

export function trainableVariables(net: Network): tf.Variable[] {
  return net.model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Manifold MixUp on hidden features h [n, ...]. The mixer's blend is linear in h with per-sample weights,
 * so it equals M·h with M = the mixer applied to the n×n identity (row i: (1−β_i)·e_i + β_i·e_partner(i)).
 * Applying it as a matrix product keeps the mixer's exact semantics while the backward pass needs only a
 * matmul: the direct form's `gather` gradient (UnsortedSegmentSum) has no wasm kernel.
 */
export function mixFeatures(mixer: Mixer, plan: MixPlan, h: tf.Tensor): tf.Tensor {
  const n = h.shape[0];
  const m = tf.tidy(() => mixer.applyToFeatures(plan, tf.eye(n)));
  const out = tf.reshape(tf.matMul(m as tf.Tensor2D, tf.reshape(h, [n, -1])), h.shape);
  m.dispose();
  return out;
}

/** What one optimisation step works on. */
export interface TrainStep {
  net: Network;
  optimizer: Optimizer;
  /** The trainable variables of `net`. */
  vars: tf.Variable[];
  batch: Batch;
  mixer: Mixer;
  epoch: number;
  numClasses: number;
  /** The learning rate of this step (the schedule's value). */
  lr: number;
}

/**
 * One optimisation step on a batch; returns the batch loss (one scalar read).
 */
export async function trainStep({ net, optimizer, vars, batch, mixer, epoch, numClasses, lr }: TrainStep): Promise<{ loss: number; mixAt: string }> {
  const [h, w] = [net.blockInputShapes[0][0], net.blockInputShapes[0][1]];
  const c = net.blockInputShapes[0][2];
  const plan = mixer.planBatch(batch.labels, epoch);
  const mixK = mixPointIndex(net, plan.mixAt);
  const xs = tf.tensor4d(batch.x, [batch.size, h, w, c]);
  const targets = mixer.targets(plan, batch.labels, numClasses);
  try {
    const { value, grads } = tf.variableGrads(() => {
      let t: tf.Tensor = mixK === 0 ? mixer.applyToInputs(plan, xs) : xs;
      net.blocks.forEach((run, k) => {
        if (k === mixK && k > 0) t = mixFeatures(mixer, plan, t);
        t = run(t, true);
      });
      return softCrossEntropy(t as tf.Tensor2D, targets);
    }, vars);
    const ordered = vars.map((v) => grads[v.name]);
    optimizer.apply(ordered, lr);
    // Read asynchronously: a GPU backend (webgpu) cannot read synchronously under Node (no OffscreenCanvas).
    const loss = (await value.data())[0];
    value.dispose();
    tf.dispose(ordered);
    if (!Number.isFinite(loss)) {
      throw new AppError('internal', `training diverged at epoch ${epoch}: the loss is ${loss} (try a lower optimizer.lr)`);
    }
    return { loss, mixAt: plan.mixAt };
  } finally {
    xs.dispose();
    targets.dispose();
  }
}

/**
 * Softmax probabilities of a whole split, in order, with the mean loss. No mixer, no augmentation, BatchNorm
 * in inference mode.
 */
export async function evaluate(net: Network, data: BatchSource, batchSize: number, numClasses: number): Promise<EvalMetrics & { loss: number; probs: Float32Array; labels: Int32Array }> {
  const n = data.size;
  const probs = new Float32Array(n * numClasses);
  const labels = new Int32Array(n);
  const [h, w, c] = net.blockInputShapes[0];
  const idx = (start: number) => Int32Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
  let pending = n > 0 ? data.batch(idx(0), null) : null;
  for (let start = 0; start < n; start += batchSize) {
    const b = await pending!;
    pending = start + batchSize < n ? data.batch(idx(start + batchSize), null) : null;
    const p = tf.tidy(() => {
      let t: tf.Tensor = tf.tensor4d(b.x, [b.size, h, w, c]);
      for (const run of net.blocks) t = run(t, false);
      return tf.softmax(t as tf.Tensor2D);
    });
    probs.set((await p.data()) as Float32Array, start * numClasses);
    p.dispose();
    labels.set(b.labels, start);
  }
  const m = evaluateProbabilities(probs, labels, numClasses);
  return { ...m, loss: m.nll, probs, labels };
}

/** Runs epochs `startEpoch .. epochs-1`; returns 'cancelled' when `shouldStop` said so. */
export async function runEpochs(s: LoopSetup, hooks: LoopHooks): Promise<'completed' | 'cancelled'> {
  const vars = trainableVariables(s.net);
  const n = s.train.size;
  if (n === 0) throw new AppError('input', 'the dataset has no usable training images');
  const batches = Math.ceil(n / s.batchSize);
  for (let epoch = s.startEpoch; epoch < s.epochs; epoch++) {
    const started = Date.now();
    const lr = learningRateAt(s.optimizerConfig, epoch, s.epochs);
    const order = epochOrder(n, s.streams.shuffle);
    const slice = (b: number) => order.subarray(b * s.batchSize, Math.min(n, (b + 1) * s.batchSize));
    let next: Promise<Batch> | null = s.train.batch(slice(0), s.streams.augment);
    let lossSum = 0;
    let seen = 0;
    const mixPoints: Record<string, number> = {};
    for (let b = 0; b < batches; b++) {
      // Let the event loop run (IPC cancel messages, signals, heartbeats): in-memory batches resolve as
      // microtasks, which alone would never give it a turn.
      await new Promise<void>((r) => setImmediate(r));
      if (hooks.shouldStop?.()) return 'cancelled';
      const batch: Batch = await next!;
      // Prefetch: the next batch is assembled (and read from the disk cache) while this one trains.
      next = b + 1 < batches ? s.train.batch(slice(b + 1), s.streams.augment) : null;
      const { loss, mixAt } = await trainStep({ net: s.net, optimizer: s.optimizer, vars, batch, mixer: s.mixer, epoch, numClasses: s.numClasses, lr });
      mixPoints[mixAt] = (mixPoints[mixAt] ?? 0) + 1;
      lossSum += loss * batch.size;
      seen += batch.size;
      hooks.onBatch?.({ epoch, batch: b + 1, batches, trainLoss: lossSum / seen, seconds: (Date.now() - started) / 1000 });
    }
    const val = s.val && s.val.size > 0 ? await evaluate(s.net, s.val, s.evalBatchSize ?? Math.max(s.batchSize, 256), s.numClasses) : null;
    const sch = s.mixer.scheduleFor(epoch);
    await hooks.onEpoch({
      epoch,
      trainLoss: lossSum / seen,
      lr,
      seconds: (Date.now() - started) / 1000,
      schedule: { active: sch.active, alpha: sch.alpha, prob: sch.prob },
      mixPoints,
      val,
    });
  }
  return 'completed';
}

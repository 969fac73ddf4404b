/**
 * `bench train`: images per second of one training step (forward, softmax cross-entropy on soft targets,
 * backward, Adam update) on synthetic 28×28×1 data with 10 classes, on the backend the engine picks.
 */
import { AppError } from '../../core/errors';
import { initEngine, loadTf, type BackendName } from './index';
import type { StepProfile } from './profile';
import type { Scalar } from '@tensorflow/tfjs';

export interface BenchTrainOptions {
  arch?: string;
  batch?: number;
  steps?: number;
  backend?: BackendName;
  threads?: number;
  /** Untimed steps first (operator creation, weight packing, JIT); default 2. */
  warmup?: number;
  /** Also profile one extra step per kernel. */
  profile?: boolean;
}

export interface BenchTrainResult {
  imagesPerSecond: number;
  backend: string;
  device: string;
  threads: number;
  arch: string;
  batch: number;
  steps: number;
  msPerStep: number;
  profile?: StepProfile;
}

const INPUT: [number, number, number] = [28, 28, 1];
const CLASSES = 10;

export async function benchTrainStep(opts: BenchTrainOptions = {}): Promise<BenchTrainResult> {
  const arch = opts.arch ?? 'cnn-small';
  const batch = opts.batch ?? 128;
  const steps = opts.steps ?? 20;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096) throw new AppError('input', `batch: expected an integer from 1 to 4096, got ${batch}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > 100000) throw new AppError('input', `steps: expected an integer from 1 to 100000, got ${steps}`);
  if (opts.warmup !== undefined && (!Number.isInteger(opts.warmup) || opts.warmup < 0)) throw new AppError('input', `warmup: expected an integer >= 0, got ${opts.warmup}`);
  const info = await initEngine({ backend: opts.backend, threads: opts.threads });
  const tf = loadTf();
  const { buildNetwork, forwardLogits } = await import('../models');
  const net = buildNetwork({ arch, inputSize: [INPUT[0], INPUT[1]], channels: INPUT[2], numClasses: CLASSES }, 1);
  const optimizer = tf.train.adam(1e-3);
  // Synthetic batch: uniform pixels and soft targets (a blend of two one-hot rows, as MixUp makes them).
  const x = tf.randomUniform([batch, ...INPUT], 0, 1, 'float32', 7);
  const y = tf.tidy(() => {
    const a = tf.oneHot(tf.randomUniform([batch], 0, CLASSES, 'int32', 8), CLASSES);
    const b = tf.oneHot(tf.randomUniform([batch], 0, CLASSES, 'int32', 9), CLASSES);
    const lam = tf.randomUniform([batch, 1], 0, 1, 'float32', 10);
    return tf.add(tf.mul(a, lam), tf.mul(b, tf.sub(1, lam)));
  });
  const step = (): Scalar => optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forwardLogits(net, x, true)) as Scalar, true) as Scalar;
  // Each step waits for its loss, read asynchronously (webgpu cannot read synchronously under Node).
  const runStep = async (): Promise<void> => {
    const loss = step();
    await loss.data();
    loss.dispose();
  };
  try {
    for (let i = 0; i < (opts.warmup ?? 2); i++) await runStep();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await runStep();
    const ms = performance.now() - t0;
    let profile: StepProfile | undefined;
    if (opts.profile) {
      const { profileStep } = await import('./profile');
      profile = await profileStep(tf, runStep);
    }
    return {
      imagesPerSecond: (batch * steps) / (ms / 1000),
      backend: info.backend,
      device: info.device,
      threads: info.threads,
      arch,
      batch,
      steps,
      msPerStep: ms / steps,
      profile,
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    net.model.dispose();
  }
}

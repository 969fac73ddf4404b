/**
 * Optimizers with PyTorch's update rules (so the quality benchmark compares like with like) and state that
 * checkpoints can save and restore exactly: Adam (bias-corrected, eps outside the square root) and SGD with
 * momentum / Nesterov. Weight decay is L2 added to the gradient (PyTorch's `weight_decay`), on every weight.
 * Learning-rate schedules are per epoch: linear warm-up from lr/10, then constant, step or cosine.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors';

export interface OptimizerConfig {
  name: 'adam' | 'sgd';
  lr: number;
  weightDecay: number;
  schedule: 'constant' | 'step' | 'cosine';
  momentum?: number;
  nesterov?: boolean;
  warmupEpochs?: number;
  stepEpochs?: number;
  gamma?: number;
}

/** The learning rate of a (0-based) epoch. */
export function learningRateAt(cfg: OptimizerConfig, epoch: number, totalEpochs: number): number {
  const warm = cfg.warmupEpochs ?? 0;
  if (epoch < warm) {
    const start = cfg.lr / 10;
    return start + ((cfg.lr - start) * epoch) / warm;
  }
  const e = epoch - warm;
  switch (cfg.schedule) {
    case 'constant':
      return cfg.lr;
    case 'step':
      return cfg.lr * Math.pow(cfg.gamma ?? 0.1, Math.floor(e / Math.max(1, cfg.stepEpochs ?? 10)));
    case 'cosine': {
      const span = Math.max(1, totalEpochs - warm);
      return 0.5 * cfg.lr * (1 + Math.cos((Math.PI * e) / span));
    }
    default:
      throw new AppError('input', `optimizer.schedule: unknown schedule '${String(cfg.schedule)}'`);
  }
}

export interface SavedOptimizer {
  name: 'adam' | 'sgd';
  step: number;
  /** Slot tensors in a fixed order: for each variable, its slots (adam: m, v; sgd: momentum buffer). */
  slots: Array<{ name: string; shape: number[]; data: Float32Array }>;
}

export class Optimizer {
  private step = 0;
  private readonly slots: tf.Variable[][];
  private readonly beta1 = 0.9;
  private readonly beta2 = 0.999;
  private readonly eps = 1e-8;

  constructor(
    readonly cfg: OptimizerConfig,
    readonly vars: tf.Variable[],
  ) {
    if (cfg.name !== 'adam' && cfg.name !== 'sgd') throw new AppError('input', `optimizer.name: unknown optimizer '${String(cfg.name)}'`);
    const perVar = cfg.name === 'adam' ? 2 : (cfg.momentum ?? 0) > 0 ? 1 : 0;
    this.slots = vars.map((v) => Array.from({ length: perVar }, () => tf.variable(tf.zerosLike(v), false)));
  }

  /** One update with `grads[i]` for `vars[i]`; disposes nothing it did not make. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.step += 1;
    const t = this.step;
    const wd = this.cfg.weightDecay;
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        let g = grads[i];
        if (wd > 0) g = tf.add(g, tf.mul(v, wd));
        if (this.cfg.name === 'adam') {
          const [m, s] = this.slots[i];
          const m2 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
          const s2 = tf.add(tf.mul(s, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
          m.assign(m2);
          s.assign(s2);
          const bc1 = 1 - Math.pow(this.beta1, t);
          const bc2 = 1 - Math.pow(this.beta2, t);
          const denom = tf.add(tf.sqrt(tf.div(s2, bc2)), this.eps);
          v.assign(tf.sub(v, tf.mul(tf.div(m2, denom), lr / bc1)));
        } else {
          const mom = this.cfg.momentum ?? 0;
          let d = g;
          if (mom > 0) {
            const [buf] = this.slots[i];
            const b2 = t === 1 ? g : tf.add(tf.mul(buf, mom), g);
            buf.assign(b2);
            d = this.cfg.nesterov ? tf.add(g, tf.mul(b2, mom)) : b2;
          }
          v.assign(tf.sub(v, tf.mul(d, lr)));
        }
      });
    });
  }

  async save(): Promise<SavedOptimizer> {
    const slots: SavedOptimizer['slots'] = [];
    for (let i = 0; i < this.slots.length; i++) {
      for (let j = 0; j < this.slots[i].length; j++) {
        const s = this.slots[i][j];
        slots.push({ name: `${this.vars[i].name}/${j}`, shape: s.shape.slice(), data: (await s.data()) as Float32Array });
      }
    }
    return { name: this.cfg.name, step: this.step, slots };
  }

  restore(saved: SavedOptimizer): void {
    const flat = this.slots.flat();
    if (saved.name !== this.cfg.name || saved.slots.length !== flat.length) {
      throw new AppError('corrupt', `checkpoint optimizer state (${saved.name}, ${saved.slots.length} slots) does not match ${this.cfg.name} with ${flat.length} slots`);
    }
    flat.forEach((s, k) => {
      const src = saved.slots[k];
      if (src.data.length !== s.size) throw new AppError('corrupt', `checkpoint slot ${src.name} has ${src.data.length} values, expected ${s.size}`);
      tf.tidy(() => s.assign(tf.tensor(src.data, s.shape)));
    });
    this.step = saved.step;
  }

  dispose(): void {
    for (const s of this.slots.flat()) s.dispose();
  }
}

/**
 * Pairing under the class-pair policy: the K×K weight matrix of a policy snapshot, and partner draws that
 * respect it (rejection from uniform proposals, then an exact draw ∝ W when many proposals were rejected).
 */
import { AppError } from '../core/errors';
import type { Rng } from './rng';

/** A class-pair policy snapshot by class name: pairs not at the default weight 1 (0 = forbidden). */
export interface PairPolicy {
  pairs: { a: string; b: string; weight: number; note?: string | null; updatedAt?: string }[];
}

/** A K×K symmetric weight matrix from a policy snapshot (default 1; forbidden 0). Unknown classes are an error. */
export function policyMatrix(classes: readonly string[], policy: PairPolicy | null | undefined): Float64Array {
  const k = classes.length;
  const w = new Float64Array(k * k).fill(1);
  if (!policy) return w;
  const index = new Map(classes.map((c, i) => [c, i]));
  for (const p of policy.pairs) {
    const a = index.get(p.a);
    const b = index.get(p.b);
    if (a === undefined) throw new AppError('input', `pair policy: unknown class '${p.a}' (classes: ${classes.join(', ')})`);
    if (b === undefined) throw new AppError('input', `pair policy: unknown class '${p.b}' (classes: ${classes.join(', ')})`);
    if (!(p.weight >= 0 && p.weight <= 1)) throw new AppError('input', `pair policy: weight of ${p.a}/${p.b} must be in [0, 1], got ${p.weight}`);
    w[a * k + b] = p.weight;
    w[b * k + a] = p.weight;
  }
  return w;
}

/**
 * Partner draws over one rng and one weight matrix. Every draw comes from `rng` in a fixed order, so the
 * same seed gives the same partners.
 */
export class PartnerDrawer {
  /** Whether any pair is below weight 1 (without one, a partner is one uniform draw). */
  readonly hasPolicy: boolean;

  constructor(
    private readonly rng: Rng,
    private readonly weights: Float64Array,
    private readonly numClasses: number,
  ) {
    this.hasPolicy = weights.some((w) => w !== 1);
  }

  /** Weight of the unordered class pair (a, b): 1 default, 0 forbidden. */
  pairWeight(a: number, b: number): number {
    return this.weights[a * this.numClasses + b];
  }

  /** A partner for sample i among every other sample of the batch (`candidates`: scratch of n − 1 slots). */
  amongOthers(i: number, labels: Int32Array, candidates: Int32Array): number {
    let c = 0;
    for (let j = 0; j < labels.length; j++) if (j !== i) candidates[c++] = j;
    return this.among(i, labels, candidates, c);
  }

  /**
   * A partner for sample i among the first `count` of `candidates` (sample indices), accepted with
   * probability W(label_i, label_j). Returns -1 when no candidate is allowed (W = 0 for all).
   */
  among(i: number, labels: Int32Array, candidates: Int32Array, count: number): number {
    if (count === 0) return -1;
    const k = this.numClasses;
    const li = labels[i];
    if (!this.hasPolicy) return candidates[this.rng.int(count)];
    for (let attempt = 0; attempt < 32; attempt++) {
      const j = candidates[this.rng.int(count)];
      const w = this.weights[li * k + labels[j]];
      if (w >= 1) return j;
      if (w > 0 && this.rng.next() < w) return j;
    }
    let total = 0;
    for (let c = 0; c < count; c++) total += this.weights[li * k + labels[candidates[c]]];
    if (total <= 0) return -1;
    let u = this.rng.next() * total;
    let last = -1;
    for (let c = 0; c < count; c++) {
      const w = this.weights[li * k + labels[candidates[c]]];
      if (w <= 0) continue;
      last = candidates[c];
      u -= w;
      if (u < 0) return last;
    }
    return last;
  }
}

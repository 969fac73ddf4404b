/**
 * The plan of one batch: pure data the planner makes and the tensor mixer applies. The planner brands
 * the plans it makes (./plan.ts), and the mixer takes no other.
 */

export type MixKind = 'none' | 'mixup' | 'cutmix';
export type UnmixedReason = 'policy' | 'prob' | 'schedule' | 'alone';
export const KIND_NONE = 0;
export const KIND_MIXUP = 1;
export const KIND_CUTMIX = 2;

/** What to do with one batch. Pure data; the mixer applies it to tensors. */
export interface MixPlan {
  readonly epoch: number;
  readonly size: number;
  /** 'input', or the manifold layer whose output is mixed. */
  readonly mixAt: string;
  /** [height, width] the CutMix boxes are cut at (null when CutMix is off). */
  readonly inputSize: readonly [number, number] | null;
  readonly labels: Int32Array;
  /** Partner index per sample (= the sample itself when unmixed). */
  readonly partner: Int32Array;
  /** Weight of the sample's own image/label (1 when unmixed; for CutMix the kept pixel share). */
  readonly lambda: Float64Array;
  /** KIND_NONE / KIND_MIXUP / KIND_CUTMIX per sample. */
  readonly kind: Uint8Array;
  /** CutMix box per sample: [y0, x0, y1, x1] (end exclusive) at inputSize; zeros when not CutMix. */
  readonly boxes: Int32Array;
  /** Why a sample stays unmixed, or null when mixed. */
  readonly reasons: (UnmixedReason | null)[];
  /** Label smoothing ε applied to the targets before mixing. */
  readonly labelSmoothing: number;
  readonly numClasses: number;
}

/** The soft targets of a plan as a row-major Float32Array [size × numClasses] (smoothing, then mixing). */
export function planTargets(plan: MixPlan): Float32Array {
  const k = plan.numClasses;
  const eps = plan.labelSmoothing;
  const out = new Float32Array(plan.size * k);
  const base = eps / k;
  if (base > 0) out.fill(base);
  for (let i = 0; i < plan.size; i++) {
    const lam = plan.lambda[i];
    out[i * k + plan.labels[i]] += (1 - eps) * lam;
    out[i * k + plan.labels[plan.partner[i]]] += (1 - eps) * (1 - lam);
  }
  return out;
}

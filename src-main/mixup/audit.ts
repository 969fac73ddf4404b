/**
 * The per-epoch audit of the plans: how many samples were mixed (MixUp or CutMix) or left unmixed and why,
 * the pairs of classes blended, the λ drawn, and the share of the target mass per class.
 */
import { KIND_CUTMIX, type MixPlan } from './mix-plan';
import type { EpochSchedule } from './schedule';

export interface LambdaHistogram {
  /** Bin edges (11 edges, 10 bins over [0, 1]; the last bin includes 1). */
  edges: number[];
  counts: number[];
}

/** The audit of one epoch (JSON). */
export interface EpochAudit {
  epoch: number;
  active: boolean;
  alpha: number;
  prob: number;
  cutmixAlpha: number;
  schedule: EpochSchedule;
  batches: number;
  samples: number;
  mixedSamples: number;
  mixupSamples: number;
  cutmixSamples: number;
  unmixedSamples: { policy: number; prob: number; schedule: number; alone: number };
  /** Mixed samples per unordered class pair (a ≤ b in class order), same-class pairs included. */
  pairs: { a: string; b: string; count: number }[];
  /** One raw λ per mixed sample: the weight of the sample's own image (CutMix: its kept pixel share). */
  lambdas: number[];
  /** True when `lambdas` was capped by `maxLambdas` (the histogram still counts every λ). */
  lambdasTruncated: boolean;
  lambdaHistogram: LambdaHistogram;
  /** Share of the total target mass per class (index = class index), after smoothing and mixing. */
  targetClassMass: number[];
  /** Share of the samples per class by their own label, for comparison. */
  labelClassMass: number[];
  /** Names of the classes, index-aligned with the mass arrays. */
  classes: string[];
  /** Mixing points used and how many batches each. */
  mixPoints: { at: string; batches: number }[];
}

/** The running counts of one epoch, kept (and checkpointed) by the planner. */
export interface AuditAccumulator {
  epoch: number;
  schedule: EpochSchedule;
  batches: number;
  samples: number;
  mixupSamples: number;
  cutmixSamples: number;
  unmixed: { policy: number; prob: number; schedule: number; alone: number };
  pairCounts: number[]; // K*K, index a*K+b with a ≤ b
  lambdas: number[];
  lambdasTruncated: boolean;
  hist: number[];
  targetMass: number[];
  labelMass: number[];
  mixPoints: Record<string, number>;
}

/** An empty accumulator for an epoch of `k` classes. */
export function newAccumulator(epoch: number, schedule: EpochSchedule, k: number): AuditAccumulator {
  return {
    epoch,
    schedule,
    batches: 0,
    samples: 0,
    mixupSamples: 0,
    cutmixSamples: 0,
    unmixed: { policy: 0, prob: 0, schedule: 0, alone: 0 },
    pairCounts: new Array(k * k).fill(0),
    lambdas: [],
    lambdasTruncated: false,
    hist: new Array(10).fill(0),
    targetMass: new Array(k).fill(0),
    labelMass: new Array(k).fill(0),
    mixPoints: {},
  };
}

/** Adds one batch plan to its epoch's counts (at most `maxLambdas` raw λ kept; the histogram counts all). */
export function recordPlan(a: AuditAccumulator, plan: MixPlan, s: EpochSchedule, maxLambdas: number): void {
  const k = plan.numClasses;
  const eps = plan.labelSmoothing;
  a.batches += 1;
  a.samples += plan.size;
  let anyMixed = false;
  for (let i = 0; i < plan.size; i++) {
    const li = plan.labels[i];
    a.labelMass[li] += 1;
    const r = plan.reasons[i];
    const lam = plan.lambda[i];
    if (r !== null) {
      a.unmixed[r] += 1;
    } else {
      anyMixed = true;
      if (plan.kind[i] === KIND_CUTMIX) a.cutmixSamples += 1;
      else a.mixupSamples += 1;
      const lj = plan.labels[plan.partner[i]];
      const lo = Math.min(li, lj);
      const hi = Math.max(li, lj);
      a.pairCounts[lo * k + hi] += 1;
      if (a.lambdas.length < maxLambdas) a.lambdas.push(lam);
      else a.lambdasTruncated = true;
      a.hist[Math.min(9, Math.floor(lam * 10))] += 1;
    }
    const lj = plan.labels[plan.partner[i]];
    a.targetMass[li] += (1 - eps) * lam;
    a.targetMass[lj] += (1 - eps) * (1 - lam);
    if (eps > 0) for (let c = 0; c < k; c++) a.targetMass[c] += eps / k;
  }
  if (anyMixed || s.active) a.mixPoints[plan.mixAt] = (a.mixPoints[plan.mixAt] ?? 0) + 1;
}

/** The audit (JSON) of an accumulator. */
export function finishAudit(a: AuditAccumulator, classes: readonly string[]): EpochAudit {
  const k = classes.length;
  const pairs: EpochAudit['pairs'] = [];
  for (let x = 0; x < k; x++) {
    for (let y = x; y < k; y++) {
      const count = a.pairCounts[x * k + y];
      if (count > 0) pairs.push({ a: classes[x], b: classes[y], count });
    }
  }
  const mixed = a.mixupSamples + a.cutmixSamples;
  const total = a.samples || 1;
  return {
    epoch: a.epoch,
    active: a.schedule.active,
    alpha: a.schedule.alpha,
    prob: a.schedule.prob,
    cutmixAlpha: a.schedule.cutmixAlpha,
    schedule: a.schedule,
    batches: a.batches,
    samples: a.samples,
    mixedSamples: mixed,
    mixupSamples: a.mixupSamples,
    cutmixSamples: a.cutmixSamples,
    unmixedSamples: { ...a.unmixed },
    pairs,
    lambdas: [...a.lambdas],
    lambdasTruncated: a.lambdasTruncated,
    lambdaHistogram: { edges: Array.from({ length: 11 }, (_, i) => i / 10), counts: [...a.hist] },
    targetClassMass: a.targetMass.map((m) => m / total),
    labelClassMass: a.labelMass.map((m) => m / total),
    classes: [...classes],
    mixPoints: Object.entries(a.mixPoints)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([at, batches]) => ({ at, batches })),
  };
}

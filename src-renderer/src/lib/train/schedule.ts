/**
 * The MixUp schedule the timeline draws: for each epoch, whether it mixes and with which α and
 * probability. Taken from a `mixup:preview` document when there is one (what the sampler will actually
 * do), otherwise derived from the resolved config (offEpoch switches mixing off from that epoch on).
 */
import type { PreviewDoc, RunConfig } from '../contract-types';

export interface ScheduleEpoch {
  epoch: number;
  active: boolean;
  alpha: number;
  prob: number;
}

export function scheduleFromPreview(preview: PreviewDoc): ScheduleEpoch[] {
  return preview.epochs.map((e) => ({ epoch: e.epoch, active: !!e.active, alpha: e.alpha, prob: e.prob }));
}

export interface RampLike {
  kind: 'constant' | 'linear' | 'cosine';
  startEpoch: number;
  endEpoch: number;
  startFactor: number;
  endFactor: number;
}

/** The factor a ramp gives at an epoch (see rampSchema in src-main/config/run-config.ts). */
export function rampFactor(ramp: RampLike | null | undefined, epoch: number): number {
  if (!ramp) return 1;
  if (ramp.kind === 'constant') return ramp.endFactor;
  if (epoch <= ramp.startEpoch) return ramp.startFactor;
  if (epoch >= ramp.endEpoch) return ramp.endFactor;
  let t = (epoch - ramp.startEpoch) / (ramp.endEpoch - ramp.startEpoch);
  if (ramp.kind === 'cosine') t = (1 - Math.cos(Math.PI * t)) / 2;
  return ramp.startFactor + (ramp.endFactor - ramp.startFactor) * t;
}

export function scheduleFromConfig(config: Pick<RunConfig, 'epochs' | 'mixup'>): ScheduleEpoch[] {
  const out: ScheduleEpoch[] = [];
  const m = config.mixup;
  const alphaRamp = (m.alphaRamp ?? null) as RampLike | null;
  const probRamp = (m.probRamp ?? null) as RampLike | null;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const off = m.offEpoch != null && epoch >= m.offEpoch;
    const fa = rampFactor(alphaRamp, epoch);
    const alpha = (m.alpha ?? 0) * fa;
    const cutmix = (m.cutmixAlpha ?? 0) * fa;
    const prob = Math.min(1, (m.prob ?? 0) * rampFactor(probRamp, epoch));
    const active = !off && (alpha > 0 || cutmix > 0) && prob > 0;
    out.push({ epoch, active, alpha: active ? alpha : 0, prob: active ? prob : 0 });
  }
  return out;
}

/** Counts of values in [lo, hi] over `bins` equal bins (the last bin includes hi). */
export function histogram(values: ArrayLike<number>, bins = 20, lo = 0, hi = 1): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    const b = Math.min(bins - 1, Math.floor((v - lo) / width));
    counts[b]!++;
  }
  return counts;
}

/**
 * Share of each class's training samples left unmixed over the previewed epochs (by the policy, the
 * probability and the schedule). Samples per class come from the preview (`samples × labelClassMass`) or,
 * failing that, `classCounts × epochs`. Mixed samples per class come from the pair counts: a same-class pair
 * counts wholly for its class, a cross-class pair half for each side (the preview counts each mixed sample
 * once under its unordered pair), so the figure is an estimate for cross-class pairs.
 */
export function unmixedShareByClass(
  preview: PreviewDoc,
  classCounts: Record<string, number>,
): { name: string; share: number }[] {
  const samples = new Map<string, number>();
  const mixed = new Map<string, number>();
  for (const e of preview.epochs) {
    if (Array.isArray(e.classes) && Array.isArray(e.labelClassMass) && typeof e.samples === 'number') {
      e.classes.forEach((c, i) => samples.set(c, (samples.get(c) ?? 0) + (e.labelClassMass![i] ?? 0) * e.samples!));
    } else {
      for (const [c, n] of Object.entries(classCounts)) samples.set(c, (samples.get(c) ?? 0) + n);
    }
    for (const p of e.pairs) {
      mixed.set(p.a, (mixed.get(p.a) ?? 0) + (p.a === p.b ? p.count : p.count / 2));
      if (p.a !== p.b) mixed.set(p.b, (mixed.get(p.b) ?? 0) + p.count / 2);
    }
  }
  return [...samples].map(([name, total]) => {
    const m = Math.min(total, mixed.get(name) ?? 0);
    return { name, share: total > 0 ? 1 - m / total : 0 };
  });
}

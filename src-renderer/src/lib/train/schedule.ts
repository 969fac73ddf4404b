/**
 * The MixUp schedule the timeline draws: for each epoch, whether it mixes and with which α and
 * probability. Taken from a `mixup:preview` document when there is one (what the sampler will actually
 * do), otherwise computed from the resolved config by the sampler's own schedule (src-main/mixup/schedule.ts).
 */
import { scheduleForEpoch } from '../../../../src-main/mixup/schedule';
import type { PreviewResult, RunConfig } from '../../../../src-main/api/types';

export { rampFactor } from '../../../../src-main/mixup/schedule';

export interface ScheduleEpoch {
  epoch: number;
  active: boolean;
  alpha: number;
  prob: number;
}

export function scheduleFromPreview(preview: PreviewResult): ScheduleEpoch[] {
  return preview.epochs.map((e) => ({ epoch: e.epoch, active: !!e.active, alpha: e.alpha, prob: e.prob }));
}

/** The schedule the sampler follows (src-main/mixup/schedule.ts), one entry per configured epoch. */
export function scheduleFromConfig(config: Pick<RunConfig, 'epochs' | 'mixup'>): ScheduleEpoch[] {
  return Array.from({ length: config.epochs }, (_, epoch) => {
    const s = scheduleForEpoch(config.mixup, epoch);
    return { epoch, active: s.active, alpha: s.alpha, prob: s.prob };
  });
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
  preview: PreviewResult,
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

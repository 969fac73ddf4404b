/**
 * The MixUp schedule: what every knob is worth at one epoch (α and probability ramps, the off epoch, label
 * smoothing, mixing points). A pure function of the config, free of Node and of any I/O, so the renderer's
 * timeline draws the very schedule the sampler follows.
 */
import { AppError } from '../core/errors';
import type { MixupConfig, Ramp } from '../config/run-config';

/** The resolved value of every knob at one epoch (recorded per epoch). */
export interface EpochSchedule {
  epoch: number;
  /** Whether any sample of this epoch can be mixed. */
  active: boolean;
  /** Why not, when inactive: `off-epoch` (offEpoch reached), `ramp` (α or prob ramped to 0), `disabled` (α = cutmixAlpha = 0 or prob = 0). */
  inactiveReason: 'off-epoch' | 'ramp' | 'disabled' | null;
  mode: MixupConfig['mode'];
  /** MixUp α in force (ramped; 0 when inactive). */
  alpha: number;
  /** CutMix α in force (ramped; 0 when inactive). */
  cutmixAlpha: number;
  /** Mixing probability in force (ramped, capped at 1; 0 when inactive). */
  prob: number;
  switchProb: number;
  labelSmoothing: number;
  lambdaMax: boolean;
  alphaFactor: number;
  probFactor: number;
  /** Candidate mixing points this epoch: 'input' and/or manifold layer names. */
  mixPoints: string[];
}

/** The value of a ramp factor at an epoch. */
export function rampFactor(ramp: Ramp | null, epoch: number): number {
  if (!ramp) return 1;
  if (ramp.kind === 'constant') return ramp.endFactor;
  if (epoch <= ramp.startEpoch) return ramp.startFactor;
  if (epoch >= ramp.endEpoch) return ramp.endFactor;
  const t = (epoch - ramp.startEpoch) / (ramp.endEpoch - ramp.startEpoch);
  const s = ramp.kind === 'linear' ? t : (1 - Math.cos(Math.PI * t)) / 2;
  return ramp.startFactor + (ramp.endFactor - ramp.startFactor) * s;
}

/** The resolved knobs of one epoch (pure function of the config). */
export function scheduleForEpoch(mix: MixupConfig, epoch: number): EpochSchedule {
  if (!Number.isInteger(epoch) || epoch < 0) throw new AppError('input', `epoch must be a whole number ≥ 0, got ${epoch}`);
  const alphaFactor = rampFactor(mix.alphaRamp, epoch);
  const probFactor = rampFactor(mix.probRamp, epoch);
  const alpha = mix.alpha * alphaFactor;
  const cutmixAlpha = mix.cutmixAlpha * alphaFactor;
  const prob = Math.min(1, mix.prob * probFactor);
  const off = mix.offEpoch !== null && epoch >= mix.offEpoch;
  const configuredOn = (mix.alpha > 0 || mix.cutmixAlpha > 0) && mix.prob > 0;
  const rampedOn = (alpha > 0 || cutmixAlpha > 0) && prob > 0;
  let inactiveReason: EpochSchedule['inactiveReason'] = null;
  if (!configuredOn) inactiveReason = 'disabled';
  else if (off) inactiveReason = 'off-epoch';
  else if (!rampedOn) inactiveReason = 'ramp';
  const active = inactiveReason === null;
  const mixPoints = mix.manifold
    ? [...(mix.manifold.includeInput ? ['input'] : []), ...mix.manifold.layers]
    : ['input'];
  return {
    epoch,
    active,
    inactiveReason,
    mode: mix.mode,
    alpha: active ? alpha : 0,
    cutmixAlpha: active ? cutmixAlpha : 0,
    prob: active ? prob : 0,
    switchProb: mix.switchProb,
    labelSmoothing: off && !mix.smoothingAfterOff ? 0 : mix.labelSmoothing,
    lambdaMax: mix.lambdaMax,
    alphaFactor,
    probFactor,
    mixPoints: mixPoints.length > 0 ? mixPoints : ['input'],
  };
}

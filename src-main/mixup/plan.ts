/**
 * The pure half of the MixUp engine: schedules, pairing under the class-pair policy, λ draws, CutMix boxes,
 * and the per-epoch audit. No tensors and no I/O here, so `mixup preview` runs it over a dataset's labels
 * without a model, and the tensor half (./mixer.ts) applies the plans it makes.
 *
 * Every random draw comes from the `Rng` given to the planner, in a fixed order, so the same seed gives the
 * same plans and the same audit, byte for byte.
 */
import { AppError } from '../core/errors';
import type { MixupConfig, Ramp, RunConfig } from '../config/run-config';
import { Rng } from './rng';

/** A class-pair policy snapshot by class name: pairs not at the default weight 1 (0 = forbidden). */
export interface PairPolicy {
  pairs: { a: string; b: string; weight: number; note?: string | null; updatedAt?: string }[];
}

export type MixKind = 'none' | 'mixup' | 'cutmix';
export type UnmixedReason = 'policy' | 'prob' | 'schedule' | 'alone';
export const KIND_NONE = 0;
export const KIND_MIXUP = 1;
export const KIND_CUTMIX = 2;

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

interface AuditAccumulator {
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

export interface PlannerState {
  rng: ReturnType<Rng['getState']>;
  audits: AuditAccumulator[];
}

export interface PlannerOptions {
  config: RunConfig;
  /** Class names, index = label index. */
  classes: string[];
  /** The pair policy in force (by class name); null or empty = every pair allowed at weight 1. */
  policy?: PairPolicy | null;
  rng: Rng;
  /** [height, width] for CutMix boxes; default config.model.inputSize. Needed only when CutMix can run. */
  inputSize?: readonly [number, number] | null;
  /** Keep at most this many raw λ per epoch in the audit (default: all). */
  maxLambdas?: number;
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

/** timm-style CutMix box for λ at [h, w], then λ corrected to the pixel share actually kept. */
export function cutmixBox(rng: Rng, lam: number, h: number, w: number): { box: [number, number, number, number]; kept: number } {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.floor(h * ratio);
  const cutW = Math.floor(w * ratio);
  const cy = rng.int(h);
  const cx = rng.int(w);
  const y0 = Math.max(0, Math.min(h, cy - Math.floor(cutH / 2)));
  const y1 = Math.max(0, Math.min(h, cy - Math.floor(cutH / 2) + cutH));
  const x0 = Math.max(0, Math.min(w, cx - Math.floor(cutW / 2)));
  const x1 = Math.max(0, Math.min(w, cx - Math.floor(cutW / 2) + cutW));
  const pasted = (y1 - y0) * (x1 - x0);
  return { box: [y0, x0, y1, x1], kept: 1 - pasted / (h * w) };
}

const plans = new WeakSet<MixPlan>();

/** Whether a plan was made by a planner (plans cannot be fabricated and handed to the mixer). */
export function isPlannedBatch(plan: MixPlan): boolean {
  return plans.has(plan);
}

/** Brand-new random-draw helpers over one rng; the order of calls fixes the stream. */
export class Planner {
  readonly classes: readonly string[];
  readonly numClasses: number;
  private readonly weights: Float64Array;
  private readonly mix: MixupConfig;
  private readonly rng: Rng;
  private readonly inputSize: readonly [number, number] | null;
  private readonly maxLambdas: number;
  private audits = new Map<number, AuditAccumulator>();
  private readonly hasPolicy: boolean;

  constructor(opts: PlannerOptions) {
    if (opts.classes.length === 0) throw new AppError('input', 'mixup: the dataset has no classes');
    this.classes = [...opts.classes];
    this.numClasses = opts.classes.length;
    this.mix = opts.config.mixup;
    this.rng = opts.rng;
    this.weights = policyMatrix(opts.classes, opts.policy ?? null);
    this.hasPolicy = this.weights.some((w) => w !== 1);
    this.inputSize = opts.inputSize ?? opts.config.model.inputSize ?? null;
    this.maxLambdas = opts.maxLambdas ?? Number.POSITIVE_INFINITY;
    if (this.mix.cutmixAlpha > 0 && !this.inputSize) {
      throw new AppError('input', 'mixup.cutmixAlpha > 0 needs model.inputSize (or the dataset default) to cut boxes at');
    }
  }

  scheduleFor(epoch: number): EpochSchedule {
    return scheduleForEpoch(this.mix, epoch);
  }

  /** Weight of the unordered class pair (a, b): 1 default, 0 forbidden. */
  pairWeight(a: number, b: number): number {
    return this.weights[a * this.numClasses + b];
  }

  /**
   * A partner for sample i among `candidates` (sample indices), accepted with probability W(label_i, label_j):
   * rejection from uniform proposals, then an exact draw ∝ W when many proposals were rejected. Returns -1
   * when no candidate is allowed (W = 0 for all).
   */
  /** A partner for sample i among every other sample of the batch (`candidates`: scratch of n − 1 slots). */
  private drawPartnerAmongOthers(i: number, labels: Int32Array, candidates: Int32Array): number {
    let c = 0;
    for (let j = 0; j < labels.length; j++) if (j !== i) candidates[c++] = j;
    return this.drawPartner(i, labels, candidates, c);
  }

  private drawPartner(i: number, labels: Int32Array, candidates: Int32Array, count: number): number {
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

  private drawLambda(alpha: number, lambdaMax: boolean): number {
    let lam = this.rng.beta(alpha, alpha);
    if (lambdaMax) lam = Math.max(lam, 1 - lam);
    return lam;
  }

  /** Picks mixup or cutmix as timm's switchProb does, given the α in force. */
  private drawKind(s: EpochSchedule, allowCutmix: boolean): number {
    const useMix = s.alpha > 0;
    const useCut = s.cutmixAlpha > 0 && allowCutmix;
    if (useMix && useCut) return this.rng.next() < s.switchProb ? KIND_CUTMIX : KIND_MIXUP;
    if (useCut) return KIND_CUTMIX;
    if (useMix) return KIND_MIXUP;
    return KIND_NONE;
  }

  /** The plan for one batch of labels at an epoch; also recorded in that epoch's audit. */
  planBatch(labelsIn: ArrayLike<number>, epoch: number): MixPlan {
    const n = labelsIn.length;
    if (n === 0) throw new AppError('input', 'mixup: a batch needs at least one sample');
    const labels = Int32Array.from(labelsIn);
    for (let i = 0; i < n; i++) {
      if (!(labels[i] >= 0 && labels[i] < this.numClasses) || labels[i] !== labelsIn[i]) {
        throw new AppError('input', `mixup: label ${labelsIn[i]} at position ${i} is not a class index 0..${this.numClasses - 1}`);
      }
    }
    const s = this.scheduleFor(epoch);
    const partner = new Int32Array(n);
    const lambda = new Float64Array(n).fill(1);
    const kind = new Uint8Array(n);
    const boxes = new Int32Array(4 * n);
    const reasons: (UnmixedReason | null)[] = new Array(n).fill(null);
    for (let i = 0; i < n; i++) partner[i] = i;
    let mixAt = 'input';

    if (!s.active) {
      reasons.fill('schedule');
    } else {
      if (s.mixPoints.length > 1) mixAt = s.mixPoints[this.rng.int(s.mixPoints.length)];
      else mixAt = s.mixPoints[0];
      // Hidden activations are blended with MixUp only; a CutMix-only config mixes at the input.
      if (mixAt !== 'input' && s.alpha <= 0) mixAt = 'input';
      const allowCutmix = mixAt === 'input';
      const [h, w] = this.inputSize ?? [0, 0];
      const setCut = (i: number, lam: number, box?: [number, number, number, number]) => {
        let b = box;
        let kept = lam;
        if (!b) {
          const c = cutmixBox(this.rng, lam, h, w);
          b = c.box;
          kept = c.kept;
        }
        boxes.set(b, 4 * i);
        return kept;
      };

      if (s.mode === 'batch') {
        if (this.rng.next() >= s.prob) {
          reasons.fill('prob');
        } else {
          const k = this.drawKind(s, allowCutmix);
          let lam = this.drawLambda(k === KIND_CUTMIX ? s.cutmixAlpha : s.alpha, s.lambdaMax);
          let box: [number, number, number, number] | undefined;
          if (k === KIND_CUTMIX) {
            const c = cutmixBox(this.rng, lam, h, w);
            box = c.box;
            lam = c.kept;
          }
          this.pairEach(labels, partner, reasons, (i) => {
            kind[i] = k;
            lambda[i] = lam;
            if (box) setCut(i, lam, box);
          });
        }
      } else if (s.mode === 'elem') {
        const selected = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          if (this.rng.next() < s.prob) selected[i] = 1;
          else reasons[i] = 'prob';
        }
        this.pairEach(labels, partner, reasons, (i) => {
          const k = this.drawKind(s, allowCutmix);
          const lam = this.drawLambda(k === KIND_CUTMIX ? s.cutmixAlpha : s.alpha, s.lambdaMax);
          kind[i] = k;
          lambda[i] = k === KIND_CUTMIX ? setCut(i, lam) : lam;
        }, selected);
      } else {
        this.pairSymmetric(s, labels, partner, reasons, kind, lambda, boxes, allowCutmix, setCut);
      }
    }

    const plan: MixPlan = {
      epoch,
      size: n,
      mixAt,
      inputSize: this.inputSize ? [this.inputSize[0], this.inputSize[1]] : null,
      labels,
      partner,
      lambda,
      kind,
      boxes,
      reasons,
      labelSmoothing: s.labelSmoothing,
      numClasses: this.numClasses,
    };
    plans.add(plan);
    this.record(plan, s);
    return plan;
  }

  /**
   * One-directional partners (batch and elem modes): each selected sample draws its own partner among the
   * other samples, respecting the policy; `onMixed(i)` sets its λ/kind once a partner is found.
   */
  private pairEach(
    labels: Int32Array,
    partner: Int32Array,
    reasons: (UnmixedReason | null)[],
    onMixed: (i: number) => void,
    selected?: Uint8Array,
  ): void {
    const n = labels.length;
    const candidates = new Int32Array(Math.max(0, n - 1));
    for (let i = 0; i < n; i++) {
      if (selected && !selected[i]) continue;
      if (n === 1) {
        reasons[i] = 'alone';
        continue;
      }
      const j = this.drawPartnerAmongOthers(i, labels, candidates);
      if (j < 0) {
        reasons[i] = 'policy';
        continue;
      }
      partner[i] = j;
      onMixed(i);
    }
  }

  /**
   * Symmetric pairs (pair mode): samples are visited in a random order and matched with an allowed unmatched
   * sample; both members share one λ (and one CutMix box, swapped). A sample left without an unmatched
   * allowed partner (odd batch, or the policy) takes a one-directional partner among all others.
   */
  private pairSymmetric(
    s: EpochSchedule,
    labels: Int32Array,
    partner: Int32Array,
    reasons: (UnmixedReason | null)[],
    kind: Uint8Array,
    lambda: Float64Array,
    boxes: Int32Array,
    allowCutmix: boolean,
    setCut: (i: number, lam: number, box?: [number, number, number, number]) => number,
  ): void {
    const n = labels.length;
    if (n === 1) {
      reasons[0] = this.rng.next() < s.prob ? 'alone' : 'prob';
      return;
    }
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    this.rng.shuffle(order);
    const matched = new Uint8Array(n);
    const candidates = new Int32Array(n);
    const leftovers: number[] = [];
    for (let o = 0; o < n; o++) {
      const i = order[o];
      if (matched[i]) continue;
      matched[i] = 1;
      let c = 0;
      for (let j = 0; j < n; j++) if (!matched[j]) candidates[c++] = j;
      const j = this.drawPartner(i, labels, candidates, c);
      if (j < 0) {
        leftovers.push(i);
        continue;
      }
      matched[j] = 1;
      if (this.rng.next() >= s.prob) {
        reasons[i] = 'prob';
        reasons[j] = 'prob';
        continue;
      }
      const k = this.drawKind(s, allowCutmix);
      let lam = this.drawLambda(k === KIND_CUTMIX ? s.cutmixAlpha : s.alpha, s.lambdaMax);
      if (k === KIND_CUTMIX) {
        lam = setCut(i, lam);
        setCut(j, lam, [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]]);
      }
      partner[i] = j;
      partner[j] = i;
      kind[i] = kind[j] = k;
      lambda[i] = lambda[j] = lam;
    }
    for (const i of leftovers) {
      if (this.rng.next() >= s.prob) {
        reasons[i] = 'prob';
        continue;
      }
      const j = this.drawPartnerAmongOthers(i, labels, candidates);
      if (j < 0) {
        reasons[i] = 'policy';
        continue;
      }
      const k = this.drawKind(s, allowCutmix);
      const lam = this.drawLambda(k === KIND_CUTMIX ? s.cutmixAlpha : s.alpha, s.lambdaMax);
      partner[i] = j;
      kind[i] = k;
      lambda[i] = k === KIND_CUTMIX ? setCut(i, lam) : lam;
    }
  }

  private accumulator(epoch: number, s: EpochSchedule): AuditAccumulator {
    let a = this.audits.get(epoch);
    if (!a) {
      const k = this.numClasses;
      a = {
        epoch,
        schedule: s,
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
      this.audits.set(epoch, a);
    }
    return a;
  }

  private record(plan: MixPlan, s: EpochSchedule): void {
    const a = this.accumulator(plan.epoch, s);
    const k = this.numClasses;
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
        if (a.lambdas.length < this.maxLambdas) a.lambdas.push(lam);
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

  /** The audit of one epoch (the batches planned so far); null when no batch of that epoch was planned. */
  epochAudit(epoch: number): EpochAudit | null {
    const a = this.audits.get(epoch);
    if (!a) return null;
    return finishAudit(a, this.classes);
  }

  /** Audits of every epoch planned so far, in epoch order. */
  allAudits(): EpochAudit[] {
    return [...this.audits.keys()].sort((x, y) => x - y).map((e) => finishAudit(this.audits.get(e)!, this.classes));
  }

  /** Forgets the accumulated audit of an epoch (e.g. after the loop stored it). */
  dropAudit(epoch: number): void {
    this.audits.delete(epoch);
  }

  getState(): PlannerState {
    return { rng: this.rng.getState(), audits: [...this.audits.values()].map((a) => structuredClone(a)) };
  }

  setState(state: PlannerState): void {
    this.rng.setState(state.rng);
    this.audits = new Map(state.audits.map((a) => [a.epoch, structuredClone(a)]));
  }
}

function finishAudit(a: AuditAccumulator, classes: readonly string[]): EpochAudit {
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

/**
 * The random streams of a training run, derived from its seed: `shuffle` (the epoch order, one
 * permutation per epoch in epoch order), `augment`, `mixup`, `init`. Preview and training use the same ones,
 * so a preview shows what the run will do.
 */
export function runStreams(seed: number): { shuffle: Rng; augment: Rng; mixup: Rng; init: Rng } {
  const root = new Rng(seed);
  return { shuffle: root.fork('shuffle'), augment: root.fork('augment'), mixup: root.fork('mixup'), init: root.fork('init') };
}

/**
 * The MixUp planner: for each batch of labels, who is mixed with whom, how (MixUp or CutMix, at the input or
 * a manifold layer), with which λ, and why a sample stays unmixed; and the running per-epoch audit. No
 * tensors and no I/O here, so `mixup preview` runs it over a dataset's labels without a model, and the tensor
 * half (./mixer.ts) applies the plans it makes. Its parts: ./schedule.ts (the knobs per epoch), ./pairing.ts
 * (the policy and partner draws), ./cutmix.ts (boxes), ./audit.ts (the counts), ./mix-plan.ts (the plan).
 *
 * Every random draw comes from the `Rng` given to the planner, in a fixed order, so the same seed gives the
 * same plans and the same audit, byte for byte.
 */
import { AppError } from '../core/errors';
import type { MixupConfig, RunConfig } from '../config/run-config';
import { finishAudit, newAccumulator, recordPlan, type AuditAccumulator, type EpochAudit } from './audit';
import { cutmixBox } from './cutmix';
import { KIND_CUTMIX, KIND_MIXUP, KIND_NONE, type MixPlan, type UnmixedReason } from './mix-plan';
import { PartnerDrawer, policyMatrix, type PairPolicy } from './pairing';
import { epochOrder, type Rng } from './rng';
import { scheduleForEpoch, type EpochSchedule } from './schedule';

export type { AuditAccumulator, EpochAudit, LambdaHistogram } from './audit';
export { cutmixBox } from './cutmix';
export { KIND_CUTMIX, KIND_MIXUP, KIND_NONE, planTargets, type MixKind, type MixPlan, type UnmixedReason } from './mix-plan';
export { policyMatrix, type PairPolicy } from './pairing';
export { runStreams } from './rng';
export { rampFactor, scheduleForEpoch, type EpochSchedule } from './schedule';

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

const plans = new WeakSet<MixPlan>();

/** Whether a plan was made by a planner (plans cannot be fabricated and handed to the mixer). */
export function isPlannedBatch(plan: MixPlan): boolean {
  return plans.has(plan);
}

/** Plans the batches of a run over one rng (the order of calls fixes the stream) and keeps their audit. */
export class Planner {
  readonly classes: readonly string[];
  readonly numClasses: number;
  private readonly partners: PartnerDrawer;
  private readonly mix: MixupConfig;
  private readonly rng: Rng;
  private readonly inputSize: readonly [number, number] | null;
  private readonly maxLambdas: number;
  private audits = new Map<number, AuditAccumulator>();

  constructor(opts: PlannerOptions) {
    if (opts.classes.length === 0) throw new AppError('input', 'mixup: the dataset has no classes');
    this.classes = [...opts.classes];
    this.numClasses = opts.classes.length;
    this.mix = opts.config.mixup;
    this.rng = opts.rng;
    this.partners = new PartnerDrawer(opts.rng, policyMatrix(opts.classes, opts.policy ?? null), this.numClasses);
    this.inputSize = opts.inputSize ?? opts.config.model.inputSize ?? null;
    this.maxLambdas = opts.maxLambdas ?? Number.POSITIVE_INFINITY;
    if (this.mix.cutmixAlpha > 0 && !this.inputSize) {
      throw new AppError('input', 'mixup.cutmixAlpha > 0 needs model.inputSize (or the dataset default) to cut boxes at');
    }
  }

  scheduleFor(epoch: number): EpochSchedule {
    return scheduleForEpoch(this.mix, epoch);
  }

  private drawLambda(alpha: number, lambdaMax: boolean): number {
    let lam = this.rng.beta(alpha, alpha);
    if (lambdaMax) lam = Math.max(lam, 1 - lam);
    return lam;
  }

  /** Weight of the unordered class pair (a, b): 1 default, 0 forbidden. */
  pairWeight(a: number, b: number): number {
    return this.partners.pairWeight(a, b);
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
    let audit = this.audits.get(epoch);
    if (!audit) this.audits.set(epoch, (audit = newAccumulator(epoch, s, this.numClasses)));
    recordPlan(audit, plan, s, this.maxLambdas);
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
      const j = this.partners.amongOthers(i, labels, candidates);
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
    const order = epochOrder(n, this.rng);
    const matched = new Uint8Array(n);
    const candidates = new Int32Array(n);
    const leftovers: number[] = [];
    for (let o = 0; o < n; o++) {
      const i = order[o];
      if (matched[i]) continue;
      matched[i] = 1;
      let c = 0;
      for (let j = 0; j < n; j++) if (!matched[j]) candidates[c++] = j;
      const j = this.partners.among(i, labels, candidates, c);
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
      const j = this.partners.amongOthers(i, labels, candidates);
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

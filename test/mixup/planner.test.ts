import { describe, expect, it } from 'vitest';
import { resolveRunConfig, type RunConfigInput } from '../../src-main/config/run-config';
import { cutmixBox, KIND_CUTMIX, KIND_MIXUP, Planner, planTargets, rampFactor, scheduleForEpoch, type PairPolicy } from '../../src-main/mixup/plan';
import { Rng } from '../../src-main/mixup/rng';
import { betaCdf, ksCritical001, ksStatistic } from './stats';

const CLASSES = ['a', 'b', 'c', 'd', 'e'];

function planner(mixup: RunConfigInput['mixup'], opts: { seed?: number; policy?: PairPolicy | null; classes?: string[]; inputSize?: [number, number] } = {}) {
  const config = resolveRunConfig({ model: { inputSize: opts.inputSize ?? [16, 12] }, mixup });
  return new Planner({ config, classes: opts.classes ?? CLASSES, policy: opts.policy ?? null, rng: new Rng(opts.seed ?? 1) });
}

function randomLabels(rng: Rng, n: number, k: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(k));
}

const POLICY: PairPolicy = {
  pairs: [
    { a: 'a', b: 'b', weight: 0 },
    { a: 'c', b: 'c', weight: 0 },
    { a: 'd', b: 'a', weight: 0 },
    { a: 'b', b: 'e', weight: 0.3 },
  ],
};
const FORBIDDEN = new Set(['0-1', '2-2', '0-3']);
const forbidden = (x: number, y: number) => FORBIDDEN.has(`${Math.min(x, y)}-${Math.max(x, y)}`);

describe('MixUp planner (pure)', () => {
  it('never puts a forbidden pair in one target row, across seeds, modes, CutMix and batch sizes (odd, 1)', () => {
    let mixedRows = 0;
    for (const mode of ['batch', 'elem', 'pair'] as const) {
      for (const cutmixAlpha of [0, 1]) {
        for (let seed = 0; seed < 12; seed++) {
          const p = planner({ alpha: 0.4, cutmixAlpha, mode, prob: 0.9 }, { seed, policy: POLICY });
          const lr = new Rng(1000 + seed);
          for (const n of [1, 2, 3, 5, 7, 16, 33]) {
            const labels = randomLabels(lr, n, CLASSES.length);
            const plan = p.planBatch(labels, 0);
            const t = planTargets(plan);
            for (let i = 0; i < n; i++) {
              const nz: number[] = [];
              for (let c = 0; c < CLASSES.length; c++) if (t[i * CLASSES.length + c] > 1e-7) nz.push(c);
              expect(nz.length).toBeLessThanOrEqual(2);
              if (nz.length === 2) expect(forbidden(nz[0], nz[1]), `row ${i} mixes ${nz}`).toBe(false);
              if (plan.reasons[i] === null) {
                mixedRows += 1;
                expect(plan.partner[i]).not.toBe(i);
                expect(forbidden(labels[i], labels[plan.partner[i]])).toBe(false);
              } else {
                expect(plan.partner[i]).toBe(i);
                expect(plan.lambda[i]).toBe(1);
              }
            }
          }
        }
      }
    }
    expect(mixedRows).toBeGreaterThan(1000);
  });

  it('makes every target row sum to 1, label smoothing included, with at most 2 non-zeros for distinct labels', () => {
    for (const mode of ['batch', 'elem', 'pair'] as const) {
      const p = planner({ alpha: 1, cutmixAlpha: 1, mode, labelSmoothing: 0.1 }, { seed: 3 });
      const plan = p.planBatch([0, 1, 2, 3, 4, 0, 1], 0);
      const t = planTargets(plan);
      for (let i = 0; i < plan.size; i++) {
        const row = Array.from(t.subarray(i * 5, i * 5 + 5));
        expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
        expect(Math.min(...row)).toBeGreaterThanOrEqual(0.1 / 5 - 1e-7);
      }
      const plain = planner({ alpha: 1, mode }, { seed: 4 }).planBatch([0, 1, 2, 3, 4], 0);
      const tp = planTargets(plain);
      for (let i = 0; i < 5; i++) expect(Array.from(tp.subarray(i * 5, i * 5 + 5)).filter((v) => v > 0).length).toBeLessThanOrEqual(2);
    }
  });

  it('leaves a sample unmixed (λ = 1) and counts it as policy when no allowed partner is in the batch', () => {
    const p = planner({ alpha: 0.4, mode: 'elem' }, { policy: { pairs: [{ a: 'a', b: 'b', weight: 0 }, { a: 'a', b: 'a', weight: 0 }] } });
    const plan = p.planBatch([0, 0, 1, 1], 0); // a can mix with nobody; b only with b
    expect(plan.reasons.slice(0, 2)).toEqual(['policy', 'policy']);
    expect(Array.from(plan.lambda.slice(0, 2))).toEqual([1, 1]);
    expect(plan.partner[2]).toBe(3);
    expect(plan.partner[3]).toBe(2);
    const audit = p.epochAudit(0)!;
    expect(audit.unmixedSamples.policy).toBe(2);
    expect(audit.mixedSamples).toBe(2);
    expect(audit.pairs).toEqual([{ a: 'b', b: 'b', count: 2 }]);
  });

  it('handles a batch of one in every mode (unmixed, counted as alone)', () => {
    for (const mode of ['batch', 'elem', 'pair'] as const) {
      const p = planner({ alpha: 0.4, mode });
      const plan = p.planBatch([2], 0);
      expect(plan.partner[0]).toBe(0);
      expect(plan.lambda[0]).toBe(1);
      expect(plan.reasons[0]).toBe('alone');
      expect(Array.from(planTargets(plan))).toEqual([0, 0, 1, 0, 0]);
    }
  });

  it('switches off exactly at offEpoch and keeps (or drops) smoothing as configured', () => {
    const p = planner({ alpha: 0.4, offEpoch: 3, labelSmoothing: 0.1, smoothingAfterOff: false });
    for (let epoch = 0; epoch < 6; epoch++) {
      const s = p.scheduleFor(epoch);
      expect(s.active).toBe(epoch < 3);
      const plan = p.planBatch([0, 1, 2, 3, 4, 0], epoch);
      const mixed = plan.reasons.filter((r) => r === null).length;
      if (epoch < 3) {
        expect(mixed).toBe(6);
        expect(plan.labelSmoothing).toBe(0.1);
      } else {
        expect(plan.reasons.every((r) => r === 'schedule')).toBe(true);
        expect(s.inactiveReason).toBe('off-epoch');
        expect(plan.labelSmoothing).toBe(0);
        expect(Array.from(planTargets(plan).subarray(0, 5))).toEqual([1, 0, 0, 0, 0]);
      }
    }
    const keep = scheduleForEpoch(resolveRunConfig({ mixup: { offEpoch: 0, labelSmoothing: 0.1 } }).mixup, 4);
    expect(keep.labelSmoothing).toBe(0.1);
  });

  it('ramps α and prob by epoch (linear, cosine, constant) and records the resolved knobs', () => {
    const lin = { kind: 'linear' as const, startEpoch: 2, endEpoch: 6, startFactor: 0, endFactor: 1 };
    expect([0, 2, 3, 4, 6, 9].map((e) => rampFactor(lin, e))).toEqual([0, 0, 0.25, 0.5, 1, 1]);
    const cos = { ...lin, kind: 'cosine' as const, startFactor: 1, endFactor: 0 };
    expect(rampFactor(cos, 4)).toBeCloseTo(0.5, 12);
    expect(rampFactor(cos, 3)).toBeCloseTo((1 + Math.cos(Math.PI / 4)) / 2, 12);
    expect(rampFactor({ ...lin, kind: 'constant', endFactor: 0.5 }, 0)).toBe(0.5);
    const mix = resolveRunConfig({ mixup: { alpha: 0.4, prob: 0.8, alphaRamp: lin, probRamp: { kind: 'linear', startEpoch: 0, endEpoch: 4, startFactor: 1, endFactor: 0.5 } } }).mixup;
    const s0 = scheduleForEpoch(mix, 0);
    expect(s0.active).toBe(false);
    expect(s0.inactiveReason).toBe('ramp');
    const s4 = scheduleForEpoch(mix, 4);
    expect(s4).toMatchObject({ active: true, alpha: 0.2, alphaFactor: 0.5, probFactor: 0.5 });
    expect(s4.prob).toBeCloseTo(0.4, 12);
  });

  it('reproduces the same plans and audit for the same seed, and differs for another seed', () => {
    const run = (seed: number) => {
      const p = planner({ alpha: 0.3, cutmixAlpha: 1, mode: 'elem', prob: 0.7 }, { seed, policy: POLICY });
      const lr = new Rng(5);
      const plans = [0, 1].flatMap((epoch) => Array.from({ length: 4 }, () => p.planBatch(randomLabels(lr, 9, 5), epoch)));
      return JSON.stringify({ plans: plans.map((q) => [Array.from(q.partner), Array.from(q.lambda), Array.from(q.boxes)]), audit: p.allAudits() });
    };
    expect(run(11)).toBe(run(11));
    expect(run(11)).not.toBe(run(12));
  });

  it('continues identically after its state is saved and restored (rng and audit in progress)', () => {
    const labels = [0, 1, 2, 3, 4, 1, 2];
    const a = planner({ alpha: 0.3, cutmixAlpha: 1, mode: 'pair' }, { seed: 8, policy: POLICY });
    a.planBatch(labels, 0);
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const next = a.planBatch(labels, 0);
    const b = planner({ alpha: 0.3, cutmixAlpha: 1, mode: 'pair' }, { seed: 999, policy: POLICY });
    b.setState(saved);
    const again = b.planBatch(labels, 0);
    expect(Array.from(again.lambda)).toEqual(Array.from(next.lambda));
    expect(Array.from(again.partner)).toEqual(Array.from(next.partner));
    expect(b.epochAudit(0)).toEqual(a.epochAudit(0));
  });

  it('draws λ from Beta(α, α): per sample (elem) and per batch (batch), KS test with a fixed seed', () => {
    const alpha = 0.4;
    const elem = planner({ alpha, mode: 'elem' }, { seed: 21 });
    const lr = new Rng(2);
    for (let b = 0; b < 100; b++) elem.planBatch(randomLabels(lr, 40, 5), 0);
    const lambdas = elem.epochAudit(0)!.lambdas;
    expect(lambdas.length).toBe(4000);
    expect(ksStatistic(lambdas, (x) => betaCdf(x, alpha, alpha))).toBeLessThan(ksCritical001(lambdas.length));

    const batch = planner({ alpha: 1.5, mode: 'batch' }, { seed: 22 });
    const perBatch: number[] = [];
    for (let b = 0; b < 1500; b++) perBatch.push(batch.planBatch(randomLabels(lr, 3, 5), 0).lambda[0]);
    expect(ksStatistic(perBatch, (x) => betaCdf(x, 1.5, 1.5))).toBeLessThan(ksCritical001(perBatch.length));
    // And the test has power: the same draws do not fit Beta(0.4, 0.4).
    expect(ksStatistic(perBatch, (x) => betaCdf(x, 0.4, 0.4))).toBeGreaterThan(ksCritical001(perBatch.length));
  });

  it('gives symmetric pairs one λ in pair mode, and max(λ, 1−λ) ≥ ½ with lambdaMax (distribution of the max)', () => {
    const p = planner({ alpha: 0.4, mode: 'pair', lambdaMax: true }, { seed: 5 });
    const lr = new Rng(3);
    const lambdas: number[] = [];
    for (let b = 0; b < 200; b++) {
      const plan = p.planBatch(randomLabels(lr, 10, 5), 0);
      for (let i = 0; i < plan.size; i++) {
        const j = plan.partner[i];
        expect(plan.lambda[i]).toBeGreaterThanOrEqual(0.5);
        if (plan.partner[j] === i && i < j) {
          expect(plan.lambda[j]).toBe(plan.lambda[i]);
          lambdas.push(plan.lambda[i]);
        }
      }
    }
    expect(lambdas.length).toBe(1000); // an even batch with no policy is all symmetric pairs
    const cdfMax = (x: number) => Math.max(0, 2 * betaCdf(x, 0.4, 0.4) - 1);
    expect(ksStatistic(lambdas, cdfMax)).toBeLessThan(ksCritical001(lambdas.length));
  });

  it('sets CutMix λ to the pixel share actually kept, with the box clipped to the image', () => {
    const rng = new Rng(9);
    for (let t = 0; t < 2000; t++) {
      const lam = rng.next();
      const { box, kept } = cutmixBox(rng, lam, 16, 12);
      const [y0, x0, y1, x1] = box;
      expect(y0 >= 0 && x0 >= 0 && y1 <= 16 && x1 <= 12 && y0 <= y1 && x0 <= x1).toBe(true);
      let pasted = 0;
      for (let y = 0; y < 16; y++) for (let x = 0; x < 12; x++) if (y >= y0 && y < y1 && x >= x0 && x < x1) pasted += 1;
      expect(kept).toBeCloseTo(1 - pasted / (16 * 12), 12);
    }
    const p = planner({ alpha: 0, cutmixAlpha: 1, mode: 'elem' }, { seed: 2 });
    const plan = p.planBatch([0, 1, 2, 3, 4, 0, 1, 2], 0);
    for (let i = 0; i < plan.size; i++) {
      expect(plan.kind[i]).toBe(KIND_CUTMIX);
      const [y0, x0, y1, x1] = plan.boxes.subarray(4 * i, 4 * i + 4);
      expect(plan.lambda[i]).toBeCloseTo(1 - ((y1 - y0) * (x1 - x0)) / (16 * 12), 12);
    }
  });

  it('chooses CutMix with probability switchProb when both are on (timm), and mixes with probability prob', () => {
    const p = planner({ alpha: 0.4, cutmixAlpha: 1, switchProb: 0.3, mode: 'batch' }, { seed: 6 });
    let cut = 0;
    const n = 2000;
    for (let b = 0; b < n; b++) if (p.planBatch([0, 1, 2], 0).kind[0] === KIND_CUTMIX) cut += 1;
    expect(Math.abs(cut / n - 0.3)).toBeLessThan(4 * Math.sqrt((0.3 * 0.7) / n));
    const onlyCut = planner({ alpha: 0, cutmixAlpha: 1, mode: 'batch' }).planBatch([0, 1], 0);
    expect(onlyCut.kind[0]).toBe(KIND_CUTMIX);
    const onlyMix = planner({ alpha: 1, cutmixAlpha: 0, mode: 'batch' }).planBatch([0, 1], 0);
    expect(onlyMix.kind[0]).toBe(KIND_MIXUP);

    const q = planner({ alpha: 0.4, mode: 'elem', prob: 0.25 }, { seed: 7 });
    for (let b = 0; b < 100; b++) q.planBatch([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], 0);
    const a = q.epochAudit(0)!;
    expect(a.mixedSamples + a.unmixedSamples.prob).toBe(1000);
    expect(Math.abs(a.mixedSamples / 1000 - 0.25)).toBeLessThan(4 * Math.sqrt((0.25 * 0.75) / 1000));
  });

  it('uses an allowed pair of weight W proportionally less often (re-draws otherwise)', () => {
    const w = 0.25;
    const p = planner({ alpha: 0.4, mode: 'elem' }, { seed: 10, classes: ['x', 'y'], policy: { pairs: [{ a: 'x', b: 'y', weight: w }] } });
    const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    let cross = 0;
    let total = 0;
    for (let b = 0; b < 2000; b++) {
      const plan = p.planBatch(labels, 0);
      for (let i = 0; i < 5; i++) {
        total += 1;
        if (labels[plan.partner[i]] === 1) cross += 1;
      }
    }
    const expected = (5 * w) / (4 + 5 * w); // 4 same-class candidates at weight 1, 5 others at weight w
    expect(Math.abs(cross / total - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / total));
  });

  it('keeps a consistent audit: every sample mixed or unmixed with a reason, pair counts, target class mass', () => {
    const p = planner({ alpha: 0.4, mode: 'elem', prob: 0.8, labelSmoothing: 0.1 }, { seed: 12, policy: POLICY });
    const lr = new Rng(4);
    for (let b = 0; b < 30; b++) p.planBatch(randomLabels(lr, 11, 5), 2);
    const a = p.epochAudit(2)!;
    const u = a.unmixedSamples;
    expect(a.samples).toBe(330);
    expect(a.batches).toBe(30);
    expect(a.mixedSamples + u.policy + u.prob + u.schedule + u.alone).toBe(330);
    expect(a.pairs.reduce((s, x) => s + x.count, 0)).toBe(a.mixedSamples);
    expect(a.lambdas.length).toBe(a.mixedSamples);
    expect(a.lambdaHistogram.counts.reduce((s, x) => s + x, 0)).toBe(a.mixedSamples);
    expect(a.targetClassMass.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
    expect(a.labelClassMass.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
    for (const pair of a.pairs) expect(forbidden(CLASSES.indexOf(pair.a), CLASSES.indexOf(pair.b))).toBe(false);
    expect(a.pairs.some((x) => x.a === x.b)).toBe(true); // same-class pairs are counted too
    expect(p.epochAudit(5)).toBeNull();
  });

  it('picks manifold mixing points per batch and never cuts boxes in hidden layers', () => {
    const p = planner({ alpha: 0.4, cutmixAlpha: 1, mode: 'elem', manifold: { layers: ['block1', 'block2'], includeInput: true } }, { seed: 13 });
    const seen = new Set<string>();
    for (let b = 0; b < 60; b++) {
      const plan = p.planBatch([0, 1, 2, 3], 0);
      seen.add(plan.mixAt);
      if (plan.mixAt !== 'input') expect(Array.from(plan.kind).every((k) => k !== KIND_CUTMIX)).toBe(true);
    }
    expect([...seen].sort()).toEqual(['block1', 'block2', 'input']);
    expect(p.epochAudit(0)!.mixPoints.map((m) => m.at)).toEqual(['block1', 'block2', 'input']);
  });

  it('rejects a policy naming an unknown class and labels out of range, naming them', () => {
    expect(() => planner({}, { policy: { pairs: [{ a: 'a', b: 'zebra', weight: 0 }] } })).toThrow(/unknown class 'zebra'/);
    expect(() => planner({}).planBatch([0, 7], 0)).toThrow(/label 7 at position 1/);
  });
});

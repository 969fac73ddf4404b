/**
 * Compare like W&B (issue 15): per-class accuracy with deltas against the baseline, the confusion difference,
 * the best epoch against the final one, the pair-policy difference in words, and CSV that a spreadsheet reads
 * back (quotes, commas and line breaks in names and notes survive).
 */
import { describe, expect, it } from 'vitest';
import type { RunDetail, RunListItem } from '../../src-main/api/types';
import { bestEpoch, compareCsv, confusionDiff, perClassRows, policyDiff, toCsv } from '../../src-renderer/src/lib/runs/compare-view';
import { runsCsv } from '../../src-renderer/src/lib/runs/runs-table';

function detail(id: number, o: { acc: Record<string, number | null>; confusion: number[][]; epochs: [number, number][]; pairs?: { a: string; b: string; weight: number }[] }): RunDetail {
  return {
    run: { id },
    name: id === 1 ? 'base, "v1"' : null,
    classes: ['coat', 'shirt'],
    perClassAccuracy: o.acc,
    confusion: o.confusion,
    epochs: o.epochs.map(([valAccuracy, valLoss], epoch) => ({ epoch, valAccuracy, valLoss, trainLoss: 1, ece: 0.1, nll: valLoss, lr: 0.001, mixup: { active: true, alpha: 0.2, prob: 1 }, seconds: 1 })),
    metrics: { valAccuracy: o.epochs.at(-1)![0], valLoss: o.epochs.at(-1)![1], ece: 0.1 },
    config: { policy: { pairs: o.pairs ?? [] } },
  } as unknown as RunDetail;
}

const a = detail(1, { acc: { coat: 0.8, shirt: 0.5 }, confusion: [[8, 2], [5, 5]], epochs: [[0.6, 1.0], [0.7, 0.8], [0.65, 0.9]], pairs: [{ a: 'shirt', b: 'coat', weight: 0 }] });
const b = detail(2, { acc: { coat: 0.7, shirt: 0.9 }, confusion: [[7, 3], [1, 9]], epochs: [[0.5, 1.1], [0.8, 0.7]], pairs: [{ a: 'coat', b: 'shirt', weight: 0.3 }] });

describe('compare view', () => {
  it('gives per-class accuracy with deltas against the first run', () => {
    const rows = perClassRows([a, b]);
    expect(rows.map((r) => r.cls)).toEqual(['coat', 'shirt']);
    expect(rows[0].deltas[1]).toBeCloseTo(-0.1);
    expect(rows[1].deltas[1]).toBeCloseTo(0.4);
    expect(rows[0].deltas[0]).toBeNull();
  });
  it('subtracts the baseline’s confusion matrix, and refuses other classes', () => {
    expect(confusionDiff(a, b)).toEqual([[-1, 1], [-4, 4]]);
    expect(confusionDiff(a, { ...b, classes: ['x', 'y'] } as RunDetail)).toBeNull();
  });
  it('finds the best epoch and the final value', () => {
    expect(bestEpoch(a, 'valAccuracy')).toEqual({ epoch: 1, value: 0.7, final: 0.65 });
    expect(bestEpoch(a, 'valLoss')).toEqual({ epoch: 1, value: 0.8, final: 0.9 });
  });
  it('says the pair-policy difference in words, whatever the pair’s order', () => {
    expect(policyDiff(a, b)).toEqual(['coat × shirt: forbidden → weight 0.3']);
    expect(policyDiff(a, a)).toEqual([]);
    expect(policyDiff(b, { ...a, config: { policy: null } } as unknown as RunDetail)).toEqual(['coat × shirt: weight 0.3 → allowed']);
  });
  it('writes CSV a spreadsheet reads back', () => {
    expect(toCsv([['a', 'b,c', 'say "hi"', null, 3], ['line\nbreak']])).toBe('a,"b,c","say ""hi""",,3\r\n"line\nbreak"\r\n');
    const csv = compareCsv([a, b]);
    expect(csv.split('\r\n')[0]).toBe('metric,"#1 base, ""v1""",#2');
    expect(csv).toContain('val accuracy: shirt,0.5,0.9');
    expect(csv).toContain('best valAccuracy epoch,1,1');
    const list = [{ id: 4, name: 'α=0.4', tags: ['mixup', 'final'], dataset: 'fm', status: 'completed', createdAt: 't', metrics: { valAccuracy: 0.8, valLoss: 0.5, ece: 0.05, eceCalibrated: 0.03 }, summary: { alpha: 0.4, cutmixAlpha: 0, offEpoch: null, backbone: null, forbidden: 2, weighted: 1 }, sweep: { id: 1, trial: 2 }, note: 'kept, for the paper' }] as unknown as RunListItem[];
    expect(runsCsv(list).split('\r\n')[1]).toBe('4,α=0.4,mixup final,fm,completed,t,0.8,0.5,0.05,0.03,0.4,0,,,2,1,1/3,"kept, for the paper"');
  });
});

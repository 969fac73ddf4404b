/**
 * Compare like W&B (issue 15), what `runs:compare` adds and the screen exports: the pair-policy difference in
 * words whatever each pair's order, the confusion difference (refused for other classes), and CSV that a
 * spreadsheet reads back (quotes, commas and line breaks in names and notes survive).
 */
import { describe, expect, it } from 'vitest';
import type { CompareResult, RunDetail, RunListItem } from '../../src-main/api/types';
import { compareRuns, confusionDifference, policyChanges } from '../../src-main/export/compare';
import type { RunInfo } from '../../src-main/training/runs-repository';
import { compareCsv, toCsv } from '../../src-renderer/src/lib/runs/compare-view';
import { runsCsv } from '../../src-renderer/src/lib/runs/runs-table';

function run(id: number, o: { acc: Record<string, number>; confusion: number[][]; epochs: [number, number][]; pairs?: { a: string; b: string; weight: number }[] }): RunInfo {
  const epochs = o.epochs.map(([valAccuracy, valLoss], epoch) => ({ epoch, valAccuracy, valLoss, trainLoss: 1, ece: 0.1, nll: valLoss, lr: 0.001, mixup: { active: true, alpha: 0.2, prob: 1 }, seconds: 1 }));
  return { id, datasetName: 'fm', status: 'completed', createdAt: 't', backend: 'wasm', classes: ['coat', 'shirt'], perClassAccuracy: o.acc, confusion: o.confusion, epochs, metrics: { valAccuracy: o.epochs.at(-1)![0], valLoss: o.epochs.at(-1)![1], ece: 0.1 }, config: { policy: { pairs: o.pairs ?? [] } }, name: id === 1 ? 'base, "v1"' : null } as unknown as RunInfo;
}

const a = run(1, { acc: { coat: 0.8, shirt: 0.5 }, confusion: [[8, 2], [5, 5]], epochs: [[0.6, 1.0], [0.7, 0.8], [0.65, 0.9]], pairs: [{ a: 'shirt', b: 'coat', weight: 0 }] });
const b = run(2, { acc: { coat: 0.7, shirt: 0.9 }, confusion: [[7, 3], [1, 9]], epochs: [[0.5, 1.1], [0.8, 0.7]], pairs: [{ a: 'coat', b: 'shirt', weight: 0.3 }] });

describe('compare', () => {
  it('says the pair-policy difference in words, whatever the pair’s order', () => {
    expect(policyChanges(a.config.policy as never, b.config.policy as never)).toEqual(['coat × shirt: forbidden → weight 0.3']);
    expect(policyChanges(a.config.policy as never, a.config.policy as never)).toEqual([]);
    expect(policyChanges(b.config.policy as never, null)).toEqual(['coat × shirt: weight 0.3 → allowed']);
    expect(compareRuns([a, b]).policyDiff).toEqual([{ run: 2, changes: ['coat × shirt: forbidden → weight 0.3'] }]);
  });
  it('subtracts the baseline’s confusion matrix, and refuses other classes', () => {
    expect(confusionDifference(a, b)).toEqual([[-1, 1], [-4, 4]]);
    expect(confusionDifference(a, { ...b, classes: ['x', 'y'] } as RunInfo)).toBeNull();
    expect(compareRuns([a, b]).confusionDiff).toEqual([{ run: 2, matrix: [[-1, 1], [-4, 4]] }]);
  });
  it('writes CSV a spreadsheet reads back', () => {
    expect(toCsv([['a', 'b,c', 'say "hi"', null, 3], ['line\nbreak']])).toBe('a,"b,c","say ""hi""",,3\r\n"line\nbreak"\r\n');
    const doc = compareRuns([a, b]) as unknown as CompareResult;
    const csv = compareCsv(doc, [a, b].map((r) => ({ ...r, run: { id: r.id } })) as unknown as RunDetail[]);
    expect(csv.split('\r\n')[0]).toBe('metric,"#1 base, ""v1""",#2');
    expect(csv).toContain('val accuracy: shirt,0.5,0.9');
    expect(csv).toContain('best valAccuracy epoch,1,1');
    const list = [{ id: 4, name: 'α=0.4', tags: ['mixup', 'final'], dataset: 'fm', status: 'completed', createdAt: 't', metrics: { valAccuracy: 0.8, valLoss: 0.5, ece: 0.05, eceCalibrated: 0.03 }, summary: { alpha: 0.4, cutmixAlpha: 0, offEpoch: null, backbone: null, forbidden: 2, weighted: 1 }, sweep: { id: 1, trial: 2 }, note: 'kept, for the paper' }] as unknown as RunListItem[];
    expect(runsCsv(list).split('\r\n')[1]).toBe('4,α=0.4,mixup final,fm,completed,t,0.8,0.5,0.05,0.03,0.4,0,,,2,1,sweep 1 trial 3,"kept, for the paper"');
  });
});

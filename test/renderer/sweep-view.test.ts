/**
 * What the Sweeps screen draws (issue 16): the trials table sorts by any column with empty cells last, the
 * parallel coordinates put every trial on every axis (log axes in decades, the metric's better end on top), and
 * the per-epoch curves mark the Hyperband rungs.
 */
import { describe, expect, it } from 'vitest';
import type { SweepDoc } from '../../src-main/api/types';
import { curveSet, paramPoints, parallelAxes, parallelLines, sortTrials, suggestedValues } from '../../src-renderer/src/lib/sweeps/sweep-view';

function trial(index: number, params: Record<string, unknown>, valLoss: number | null, status = 'completed', curve: (number | null)[] = []): any {
  return { index, run: { id: 10 + index }, params, status, epochs: curve.length || 4, epochsPlanned: 4, metrics: { valLoss, valAccuracy: valLoss === null ? null : 1 - valLoss / 3, ece: 0.1 }, curve, stoppedAt: status === 'stopped' ? curve.length : null, seconds: 1 + index, overheadSeconds: 0.01, error: null };
}

const doc = {
  sweep: { id: 1 },
  status: 'completed',
  metric: 'valLoss',
  space: [
    { key: 'optimizer.lr', kind: 'range', scale: 'log', min: 0.0001, max: 0.1 },
    { key: 'mixup.mode', kind: 'values', values: ['batch', 'elem'] },
  ],
  hyperband: { eta: 3, minEpochs: 1 },
  trials: [
    trial(0, { 'optimizer.lr': 0.0001, 'mixup.mode': 'batch' }, 1.2, 'completed', [2, 1.5, 1.3, 1.2]),
    trial(1, { 'optimizer.lr': 0.01, 'mixup.mode': 'elem' }, 0.8, 'completed', [1.8, 1.2, 0.9, 0.8]),
    trial(2, { 'optimizer.lr': 0.1, 'mixup.mode': 'batch' }, 2.0, 'stopped', [2.0]),
    trial(3, { 'optimizer.lr': 0.001, 'mixup.mode': 'elem' }, null, 'pending', []),
  ],
  best: { index: 1, run: { id: 11 }, params: {}, metrics: {}, epochs: 4 },
} as unknown as SweepDoc;

describe('sweep view', () => {
  it('sorts the trials by any column, empty cells last either way', () => {
    expect(sortTrials(doc.trials, 'valLoss', 'asc').map((t) => t.index)).toEqual([1, 0, 2, 3]);
    expect(sortTrials(doc.trials, 'valLoss', 'desc').map((t) => t.index)).toEqual([2, 0, 1, 3]);
    expect(sortTrials(doc.trials, 'param:mixup.mode', 'asc').map((t) => t.index)).toEqual([0, 2, 1, 3]);
    expect(sortTrials(doc.trials, 'param:optimizer.lr', 'desc').map((t) => t.index)).toEqual([2, 1, 3, 0]);
    expect(sortTrials(doc.trials, 'seconds', 'desc').map((t) => t.index)).toEqual([3, 2, 1, 0]);
  });
  it('puts each trial on every axis: a log axis in decades, a list evenly, the better metric on top', () => {
    const axes = parallelAxes(doc);
    expect(axes.map((a) => a.key)).toEqual(['optimizer.lr', 'mixup.mode', 'valLoss']);
    expect(axes[0].at(0.0001)).toBeCloseTo(0);
    expect(axes[0].at(0.001)).toBeCloseTo(1 / 3);
    expect(axes[0].at(0.1)).toBeCloseTo(1);
    expect(axes[1].at('batch')).toBe(0);
    expect(axes[1].at('elem')).toBe(1);
    // Lower loss is better: the lowest sits on top.
    expect(axes[2].at(0.8)).toBeCloseTo(1);
    expect(axes[2].at(2.0)).toBeCloseTo(0);
    const lines = parallelLines(doc, axes);
    expect(lines[1]).toMatchObject({ best: true, quality: 1 });
    expect(lines[3].ys[2]).toBeNull();
    expect(paramPoints(doc, axes[0]).map((p) => p.trial)).toEqual([0, 1, 2]);
  });
  it('draws each trial’s curve on one scale and marks the rungs', () => {
    const c = curveSet(doc);
    expect(c.maxEpochs).toBe(4);
    expect(c.rungs.map((r) => r.label)).toEqual(['rung 1', 'rung 3']);
    expect(c.curves[2].points).toHaveLength(1);
    expect(c.curves[1].points.at(-1)![1]).toBeCloseTo(1);
  });
  it('suggests values to sweep from the field', () => {
    expect(suggestedValues('mixup.alpha', 0.2)).toBe('0,0.1,0.2,0.4,1');
    expect(suggestedValues('mixup.offEpoch', 8)).toBe('null,6,8');
    expect(suggestedValues('epochs', 10)).toBe('5,10,20');
    expect(suggestedValues('augment.flip', false)).toBe('false,true');
    // Whole numbers stay whole, and a 0 never suggests a list that repeats itself.
    expect(suggestedValues('epochs', 5)).toBe('3,5,10');
    expect(suggestedValues('seed', 0)).toBe('0,1,2');
    expect(suggestedValues('model.head.hidden', 0)).toBe('0,64,256');
    expect(suggestedValues('batchSize', 1)).toBe('1,2');
  });
});

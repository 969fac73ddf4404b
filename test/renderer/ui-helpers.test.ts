import { describe, expect, it } from 'vitest';
import { gridGeometry, visibleRange, pagesFor, PageCache } from '../../src-renderer/src/lib/datasets/virtual-grid';
import { cellAt, cellsInView, filterClasses, fitCell, pairKey, weightColor } from '../../src-renderer/src/lib/policy/matrix-geometry';
import { histogram, rampFactor, scheduleFromConfig, unmixedShareByClass } from '../../src-renderer/src/lib/train/schedule';
import { errorFor, fieldErrorsFrom } from '../../src-renderer/src/lib/train/config-errors';
import { filterRuns, sortRuns } from '../../src-renderer/src/lib/runs/runs-table';
import { metricRows, overlay } from '../../src-renderer/src/lib/runs/compare-view';
import { formatDuration, formatValue } from '../../src-renderer/src/lib/format';
import type { PreviewResult, RunConfig, RunDetail, RunListItem as RunSummary } from '../../src-main/api/types';

describe('virtual gallery grid', () => {
  it('keeps the DOM to the rows in view (plus overscan) whatever the number of images', () => {
    const g = gridGeometry(800, 96, 8);
    expect(g.columns).toBe(7); // 7*104-8 = 720 ≤ 800 < 824
    expect(g.tileWidth * 7 + 6 * 8).toBeLessThanOrEqual(800); // tiles grow to fill the row, never past it
    expect(g.tileWidth).toBeGreaterThan(96);
    for (const total of [10, 100_000, 1_000_000]) {
      const r = visibleRange(123_456, 460, g, total, 2);
      expect(r.end - r.start).toBeLessThanOrEqual((Math.ceil(460 / g.rowHeight) + 1 + 4) * g.columns);
      expect(r.end).toBeLessThanOrEqual(total);
      expect(r.height).toBe(Math.ceil(total / g.columns) * g.rowHeight);
    }
  });

  it('covers exactly the items of the rows in view and the last partial row', () => {
    const g = gridGeometry(400, 96, 8); // 3 columns
    const r = visibleRange(0, 200, g, 10, 0);
    expect(r.start).toBe(0);
    expect(r.end).toBe(6); // rows 0..1 in view
    const bottom = visibleRange(10_000, 200, g, 10, 0);
    expect(bottom.end).toBe(10);
    expect(bottom.start).toBeLessThanOrEqual(9);
  });

  it('asks only for the pages that hold the visible items', () => {
    expect(pagesFor(0, 0, 200)).toEqual([]);
    expect(pagesFor(150, 450, 200)).toEqual([0, 1, 2]);
    expect(pagesFor(400, 599, 200)).toEqual([2]);
  });

  it('evicts the least recently used page past its capacity', () => {
    const c = new PageCache<number>(2);
    c.set(0, [0]);
    c.set(1, [1]);
    c.get(0);
    c.set(2, [2]);
    expect(c.has(0)).toBe(true);
    expect(c.has(1)).toBe(false);
    expect(c.size).toBe(2);
  });
});

describe('pair-policy matrix geometry', () => {
  const view = { n: 1000, cell: 4, scrollLeft: 400, scrollTop: 800, width: 600, height: 500 };

  it('hit-tests a pointer to the cell under it by arithmetic, scrolled', () => {
    expect(cellAt(0, 0, view)).toEqual({ row: 200, col: 100 });
    expect(cellAt(7.9, 3.9, view)).toEqual({ row: 200, col: 101 });
    expect(cellAt(-1, 0, view)).toBeNull();
    expect(cellAt(0, 500, view)).toBeNull();
    expect(cellAt(10, 10, { ...view, n: 150 })).toBeNull(); // past the last class
  });

  it('draws only the cells in view', () => {
    const r = cellsInView(view);
    expect(r).toEqual({ row0: 200, row1: 325, col0: 100, col1: 250 });
    expect((r.row1 - r.row0) * (r.col1 - r.col0)).toBeLessThan(20_000);
  });

  it('treats a pair as unordered and colours forbidden, partial and default weights apart', () => {
    expect(pairKey('cat', 'dog')).toBe(pairKey('dog', 'cat'));
    expect(new Set([weightColor(0), weightColor(0.5), weightColor(1), weightColor(1, true)]).size).toBe(4);
  });

  it('filters classes case-insensitively and fits the cell size', () => {
    expect(filterClasses(['Shirt', 't-shirt', 'bag'], 'SHIRT')).toEqual([0, 1]);
    expect(filterClasses(['a', 'b'], '  ')).toEqual([0, 1]);
    expect(fitCell(10, 500)).toBe(28);
    expect(fitCell(1000, 500)).toBe(2);
  });
});

describe('MixUp schedule for the timeline', () => {
  const base = { epochs: 6, mixup: { alpha: 0.4, mode: 'batch', prob: 0.8, cutmixAlpha: 0, switchProb: 0.5, labelSmoothing: 0, offEpoch: 4, manifold: null } } as unknown as RunConfig;

  it('switches mixing off from offEpoch on (0-based) and keeps α/prob before', () => {
    const s = scheduleFromConfig(base);
    expect(s.map((e) => e.active)).toEqual([true, true, true, true, false, false]);
    expect(s[0]).toEqual({ epoch: 0, active: true, alpha: 0.4, prob: 0.8 });
    expect(s[5]!.alpha).toBe(0);
  });

  it('applies α and probability ramps (linear, cosine, constant)', () => {
    const ramp = { kind: 'linear' as const, startEpoch: 0, endEpoch: 4, startFactor: 0, endFactor: 1 };
    expect([0, 1, 2, 4, 9].map((e) => rampFactor(ramp, e))).toEqual([0, 0.25, 0.5, 1, 1]);
    expect(rampFactor({ ...ramp, kind: 'cosine' }, 2)).toBeCloseTo(0.5);
    expect(rampFactor({ ...ramp, kind: 'cosine' }, 1)).toBeLessThan(0.25);
    expect(rampFactor({ ...ramp, kind: 'constant', endFactor: 0.3 }, 0)).toBe(0.3);
    const s = scheduleFromConfig({ ...base, mixup: { ...base.mixup, offEpoch: null, alphaRamp: ramp } } as RunConfig);
    expect(s[0]!.active).toBe(false); // α factor 0 at epoch 0: nothing to mix
    expect(s[2]!.alpha).toBeCloseTo(0.2);
  });

  it('bins λ values into a histogram that counts every value in [0, 1]', () => {
    const h = histogram([0, 0.05, 0.5, 0.999, 1, 1.2, Number.NaN], 10);
    expect(h.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h[0]).toBe(2);
    expect(h[9]).toBe(2);
  });

  it('derives each class share left unmixed from preview pair counts', () => {
    const preview = {
      epochs: [
        { epoch: 0, active: true, alpha: 1, prob: 1, mixedSamples: 6, unmixedSamples: 4, pairs: [{ a: 'a', b: 'b', count: 4 }, { a: 'a', b: 'a', count: 2 }] },
      ],
    } as unknown as PreviewResult;
    const shares = Object.fromEntries(unmixedShareByClass(preview, { a: 5, b: 5 }).map((x) => [x.name, x.share]));
    expect(shares.a).toBeCloseTo(1 - 4 / 5);
    expect(shares.b).toBeCloseTo(1 - 2 / 5);
  });
});

describe('config field errors', () => {
  it('puts each message of a config:resolve error next to its dotted field', () => {
    const err = Object.assign(new Error('run config: mixup.prob: must be ≤ 1 (got 2); epochs: must be ≥ 1 (got 0); mixup.bogus: unknown key'), { kind: 'input' });
    const f = fieldErrorsFrom(err);
    expect(f['mixup.prob']).toBe('must be ≤ 1 (got 2)');
    expect(f['epochs']).toBe('must be ≥ 1 (got 0)');
    expect(f['mixup.bogus']).toBe('unknown key');
  });

  it('strips an op-name prefix and `config.` and finds child errors of a field', () => {
    const f = fieldErrorsFrom(new Error('config:resolve: config.model.inputSize.0: must be ≥ 8'));
    expect(errorFor(f, 'model.inputSize')).toBe('must be ≥ 8');
    expect(fieldErrorsFrom(new Error('something odd'))['_']).toBe('something odd');
  });
});

describe('runs table and comparison', () => {
  // Partial records: the helpers read only these fields.
  const list = [
    { id: 1, dataset: 'fm', status: 'completed', createdAt: '2026-01-01', metrics: { valAccuracy: 0.8, valLoss: 0.5, ece: 0.02 } },
    { id: 2, dataset: 'digits', status: 'failed', createdAt: '2026-01-02', metrics: null },
    { id: 3, dataset: 'fm', status: 'completed', createdAt: '2026-01-03', metrics: { valAccuracy: 0.9, valLoss: 0.4, ece: 0.03 } },
  ] as unknown as RunSummary[];

  it('sorts by a metric either way with missing values last', () => {
    expect(sortRuns(list, 'valAccuracy', 'desc').map((r) => r.id)).toEqual([3, 1, 2]);
    expect(sortRuns(list, 'valAccuracy', 'asc').map((r) => r.id)).toEqual([1, 3, 2]);
    expect(sortRuns(list, 'dataset', 'asc').map((r) => r.id)).toEqual([2, 1, 3]);
  });

  it('filters on every word of the query', () => {
    expect(filterRuns(list, 'fm completed').map((r) => r.id)).toEqual([1, 3]);
    expect(filterRuns(list, 'failed').map((r) => r.id)).toEqual([2]);
    expect(filterRuns(list, '#3').map((r) => r.id)).toEqual([3]);
  });

  it('aligns curves of runs with different epochs and measures deltas against the baseline', () => {
    const d = (id: number, accs: number[], acc: number) =>
      ({ run: { id }, status: 'completed', epochs: accs.map((a, epoch) => ({ epoch, valAccuracy: a })), metrics: { valAccuracy: acc, valLoss: 1, ece: null } }) as unknown as RunDetail;
    const runs = [d(1, [0.5, 0.6], 0.6), d(2, [0.4, 0.7, 0.8], 0.8)];
    expect(overlay(runs, 'valAccuracy')).toEqual([[0, 1, 2], [0.5, 0.6, null], [0.4, 0.7, 0.8]]);
    const rows = metricRows(runs);
    expect(rows[0]!.deltas[1]).toBeCloseTo(0.2);
    expect(rows[0]!.deltas[0]).toBeNull();
    expect(rows[2]!.deltas[1]).toBeNull();
  });
});

describe('formatting', () => {
  it('shows config values without float noise and durations in h/m/s', () => {
    expect(formatValue(0.4)).toBe('0.4');
    expect(formatValue(0.1 + 0.2)).toBe('0.3');
    expect(formatValue(null)).toBe('null');
    expect(formatValue(undefined)).toBe('(unset)');
    expect(formatValue([12, 12])).toBe('[12,12]');
    expect(formatDuration(59.6)).toBe('1m 00s');
    expect(formatDuration(3725)).toBe('1h 02m');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

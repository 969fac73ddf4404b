import { describe, expect, it } from 'vitest';
import { configDiff, flattenConfig } from '../../src-main/export/compare';
import { fileListHash, splitExportedConfig } from '../../src-main/config/export-file';
import { csvField } from '../../src-main/export/dataset-export';
import { topK } from '../../src-main/export/predict';
import { lineChart, renderReport } from '../../src-main/export/report';
import type { RunInfo } from '../../src-main/training/runs-repository';

describe('compare helpers', () => {
  it('flattens nested config to dotted keys, keeping arrays and null whole', () => {
    const flat = flattenConfig({ a: 1, m: { inputSize: [8, 8], manifold: null, r: { k: 'x' } } });
    expect([...flat.entries()]).toEqual([
      ['a', 1],
      ['m.inputSize', [8, 8]],
      ['m.manifold', null],
      ['m.r.k', 'x'],
    ]);
  });

  it('lists only the keys that differ, null for a key missing in one run, key order of objects ignored', () => {
    const a = { seed: 1, model: { inputSize: [8, 8] }, policy: { pairs: [{ a: 'x', b: 'y', weight: 0 }] }, extra: { k: 1, j: 2 } };
    const b = { seed: 1, model: { inputSize: [8, 9] }, policy: { pairs: [] }, extra: { j: 2, k: 1 } };
    const c = { seed: 2, model: { inputSize: [8, 8] }, policy: { pairs: [{ weight: 0, b: 'y', a: 'x' }] }, extra: { j: 2, k: 1 }, more: true };
    expect(configDiff([a, b, c])).toEqual([
      { key: 'model.inputSize', values: [[8, 8], [8, 9], [8, 8]] },
      { key: 'more', values: [null, null, true] },
      { key: 'policy.pairs', values: [[{ a: 'x', b: 'y', weight: 0 }], [], [{ weight: 0, b: 'y', a: 'x' }]] },
      { key: 'seed', values: [1, 1, 2] },
    ]);
    expect(configDiff([a, structuredClone(a)])).toEqual([]);
  });
});

describe('exported config helpers', () => {
  it('splits config.json into the run config and its reserved sections', () => {
    const r = splitExportedConfig({ seed: 4, preprocessing: { channels: 1 }, provenance: { run: 2 } });
    expect(r.config).toEqual({ seed: 4 });
    expect(r.preprocessing).toEqual({ channels: 1 });
    expect(r.provenance).toEqual({ run: 2 });
  });

  it('hashes a file list independently of its order, and differently when a split changes', () => {
    const files = [
      { relPath: 'b/2.png', className: 'b', split: 'train' },
      { relPath: 'a/1.png', className: 'a', split: 'val' },
    ];
    expect(fileListHash(files)).toBe(fileListHash([...files].reverse()));
    expect(fileListHash(files)).not.toBe(fileListHash([{ ...files[0]!, split: 'val' }, files[1]!]));
  });
});

describe('CSV and top-K', () => {
  it('quotes commas, quotes, newlines and edge spaces; keeps unicode as is', () => {
    expect(csvField('plain/ü.png')).toBe('plain/ü.png');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' lead')).toBe('" lead"');
    expect(csvField(null)).toBe('');
  });

  it('returns the indices of the K largest values, largest first, ties by index', () => {
    expect(topK([0.1, 0.5, 0.2, 0.5], 3)).toEqual([1, 3, 2]);
    expect(topK([0.3, 0.7], 5)).toEqual([1, 0]);
  });
});

describe('report.html', () => {
  const run = {
    id: 7,
    datasetName: 'pets <b>',
    status: 'completed',
    backend: 'wasm',
    device: 'x',
    createdAt: 't0',
    epochs: [
      { epoch: 0, trainLoss: 2, valLoss: 1.5, valAccuracy: 0.4, ece: 0.1, nll: 1.5, lr: 0.001, mixup: { active: true, alpha: 0.2, prob: 1 }, seconds: 1 },
      { epoch: 1, trainLoss: 1, valLoss: 1.2, valAccuracy: 0.6, ece: 0.05, nll: 1.2, lr: 0.001, mixup: { active: false, alpha: 0, prob: 0 }, seconds: 1 },
    ],
    epochsPlanned: 2,
    metrics: { valAccuracy: 0.6, valLoss: 1.2, ece: 0.05 },
    perClassAccuracy: { cat: 0.5, dog: 0.7 },
    classes: ['cat', 'dog'],
    confusion: [
      [1, 1],
      [0, 2],
    ],
    audit: [{ epoch: 0, active: true, alpha: 0.2, prob: 1, mixedSamples: 4, unmixedSamples: { policy: 2 }, pairs: [{ a: 'cat', b: 'dog', count: 3 }], lambdas: [0.2, 0.4] }],
    datasetFingerprint: 'abc',
  } as unknown as RunInfo;

  it('escapes names, shows the forbidden pairs, best epoch, the confusion counts and the audit', () => {
    const html = renderReport({
      run,
      config: { policy: { pairs: [{ a: 'cat', b: 'dog', weight: 0, note: 'never <blend>' }] } },
      preprocessing: {},
      exportedAt: 'now',
      appVersion: '1',
      formats: ['tfjs'],
    });
    expect(html).toContain('pets &lt;b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).toContain('never mixed');
    expect(html).toContain('never &lt;blend&gt;');
    expect(html).toContain('0.6000 (epoch 1)');
    expect(html).toContain('title="cat → dog: 1">1</td>');
    expect(html).toContain('policy: 2');
    expect(html).toContain('cat×dog (3)');
    expect(html).toContain('0.300'); // mean λ
  });

  it('draws a line per series and breaks it at missing values', () => {
    const svg = lineChart('t', [{ name: 's', color: '#000', points: [[0, 1], [1, null], [2, 3]] }]);
    const d = /<path d="([^"]+)"/.exec(svg)![1]!;
    expect(d.match(/M/g)).toHaveLength(2);
    expect(d).not.toContain('L');
  });
});

/**
 * What the Sweeps screen draws, computed from the sweep document (pure: no DOM, unit-tested):
 * the results table (sortable by any column), the parallel-coordinates lines, the metric-by-parameter points
 * and the per-epoch curves, each in 0..1 coordinates the SVG scales.
 */
import type { SweepDoc, SweepTrial } from '../../../../src-main/api/types';
import { formatValue } from '../format';

export type Metric = 'valLoss' | 'valAccuracy' | 'ece' | 'eceCalibrated';
export const METRICS: Metric[] = ['valLoss', 'valAccuracy', 'ece', 'eceCalibrated'];
export const METRIC_LABEL: Record<Metric, string> = { valLoss: 'val loss', valAccuracy: 'val accuracy', ece: 'ECE', eceCalibrated: 'ECE (temperature-scaled)' };
export const lowerIsBetter = (m: Metric) => m !== 'valAccuracy';

/** A column of the results table: `trial`, `run`, `status`, `epochs`, `seconds`, a metric, or `param:KEY`. */
export type Column = string;

/** A swept value as the screen writes it: the app's one formatter of config values. */
export const valueText = formatValue;

function cell(t: SweepTrial, col: Column): number | string | null {
  if (col === 'trial') return t.index + 1;
  if (col === 'run') return t.run?.id ?? null;
  if (col === 'status') return t.status;
  if (col === 'epochs') return t.epochs;
  if (col === 'seconds') return t.seconds;
  if ((METRICS as string[]).includes(col)) return t.metrics[col as Metric];
  if (col.startsWith('param:')) {
    const v = t.params[col.slice(6)];
    return typeof v === 'number' || typeof v === 'string' ? v : v === undefined ? null : JSON.stringify(v);
  }
  return null;
}

/** The trials sorted by a column; empty cells last whichever the direction; ties by trial order. */
export function sortTrials(trials: SweepTrial[], col: Column, dir: 'asc' | 'desc'): SweepTrial[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...trials].sort((a, b) => {
    const x = cell(a, col);
    const y = cell(b, col);
    if (x === null && y === null) return a.index - b.index;
    if (x === null) return 1;
    if (y === null) return -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? sign * c : a.index - b.index;
  });
}

export interface Axis {
  key: string;
  label: string;
  /** Where a value sits on the axis, 0 (bottom) .. 1 (top); null when the trial has none. */
  at(v: unknown): number | null;
  ticks: { at: number; label: string }[];
  log: boolean;
}

function numericAxis(key: string, label: string, values: number[], log: boolean, flip = false): Axis {
  const tf = (v: number) => (log ? Math.log10(v) : v);
  const lo = Math.min(...values.map(tf));
  const hi = Math.max(...values.map(tf));
  const span = hi - lo || 1;
  const pos = (v: number) => {
    const p = hi === lo ? 0.5 : (tf(v) - lo) / span;
    return flip ? 1 - p : p;
  };
  const ticks = hi === lo ? [{ at: 0.5, label: valueText(values[0]) }] : [0, 0.5, 1].map((f) => ({ at: flip ? 1 - f : f, label: valueText(log ? 10 ** (lo + f * span) : lo + f * span) }));
  return { key, label, log, ticks, at: (v) => (typeof v === 'number' && Number.isFinite(v) ? pos(v) : null) };
}

function categoricalAxis(key: string, values: unknown[]): Axis {
  const keys = [...new Set(values.map((v) => JSON.stringify(v)))];
  const pos = (k: string) => (keys.length === 1 ? 0.5 : keys.indexOf(k) / (keys.length - 1));
  return { key, label: key, log: false, ticks: keys.map((k) => ({ at: pos(k), label: valueText(JSON.parse(k)) })), at: (v) => (v === undefined ? null : keys.includes(JSON.stringify(v)) ? pos(JSON.stringify(v)) : null) };
}

/** One axis per swept key, then the metric (its better end on top). */
export function parallelAxes(doc: SweepDoc): Axis[] {
  const axes: Axis[] = doc.space.map((s) => {
    const values = doc.trials.map((t) => t.params[s.key]).filter((v) => v !== undefined);
    if (s.kind === 'range') return numericAxis(s.key, s.key, values.length ? (values as number[]) : [s.min, s.max], s.scale === 'log');
    if (s.values.every((v) => typeof v === 'number')) return numericAxis(s.key, s.key, s.values as number[], false);
    return categoricalAxis(s.key, s.values);
  });
  const m = doc.metric as Metric;
  const scores = doc.trials.map((t) => t.metrics[m]).filter((v): v is number => v !== null);
  axes.push(numericAxis(m, METRIC_LABEL[m], scores.length ? scores : [0, 1], false, lowerIsBetter(m)));
  return axes;
}

export interface Line {
  trial: number;
  /** One point per axis: null where the trial has no value yet. */
  ys: (number | null)[];
  /** 0 (worst) .. 1 (best) of the finished trials, for the colour; null when it has no metric. */
  quality: number | null;
  best: boolean;
  status: SweepTrial['status'];
}

export function parallelLines(doc: SweepDoc, axes: Axis[]): Line[] {
  const metricAxis = axes[axes.length - 1];
  return doc.trials.map((t) => {
    const ys = axes.slice(0, -1).map((a) => a.at(t.params[a.key]));
    const q = metricAxis.at(t.metrics[doc.metric as Metric]);
    return { trial: t.index, ys: [...ys, q], quality: q, best: doc.best?.index === t.index, status: t.status };
  });
}

/** Colour of a line by its quality: red (worst) → amber → green (best); grey without a metric. */
export function qualityColour(q: number | null): string {
  if (q === null) return '#9aa1ad';
  const hue = Math.round(q * 120);
  return `hsl(${hue} 70% 42%)`;
}

export interface CurveSet {
  /** Per trial, its per-epoch metric as (x 0..1, y 0..1) points. */
  curves: { trial: number; points: [number, number][]; status: SweepTrial['status']; best: boolean }[];
  maxEpochs: number;
  yTicks: { at: number; label: string }[];
  /** The rungs (epochs) where early stopping decides, as x in 0..1. */
  rungs: { at: number; label: string }[];
}

/** The metric per epoch of every trial, on one scale (better on top), with the early-stopping rungs. */
export function curveSet(doc: SweepDoc): CurveSet {
  const m = doc.metric as Metric;
  const all = doc.trials.flatMap((t) => t.curve.filter((v): v is number => v !== null));
  const maxEpochs = Math.max(1, ...doc.trials.map((t) => t.epochsPlanned ?? t.epochs));
  const axis = numericAxis(m, METRIC_LABEL[m], all.length ? all : [0, 1], false, lowerIsBetter(m));
  const x = (e: number) => (maxEpochs <= 1 ? 0.5 : e / (maxEpochs - 1));
  const rungs: { at: number; label: string }[] = [];
  if (doc.hyperband) for (let r = doc.hyperband.minEpochs; r < maxEpochs; r = Math.round(r * doc.hyperband.eta)) rungs.push({ at: x(r - 1), label: `rung ${r}` });
  return {
    curves: doc.trials.map((t) => ({
      trial: t.index,
      status: t.status,
      best: doc.best?.index === t.index,
      points: t.curve.flatMap((v, e) => (v === null ? [] : [[x(e), axis.at(v)!] as [number, number]])),
    })),
    maxEpochs,
    yTicks: axis.ticks,
    rungs,
  };
}

/** A key's metric-by-value plot: a point per trial that has both. */
export function paramPoints(doc: SweepDoc, axis: Axis): { trial: number; x: number; y: number; best: boolean }[] {
  const metricAxis = parallelAxes(doc).at(-1)!;
  return doc.trials.flatMap((t) => {
    const x = axis.at(t.params[axis.key]);
    const y = metricAxis.at(t.metrics[doc.metric as Metric]);
    return x === null || y === null ? [] : [{ trial: t.index, x, y, best: doc.best?.index === t.index }];
  });
}

/** What a user types to sweep a field, suggested from the field and its current value. */
export function suggestedValues(key: string, current: unknown): string {
  const known: Record<string, string> = {
    'mixup.alpha': '0,0.1,0.2,0.4,1',
    'mixup.cutmixAlpha': '0,0.5,1',
    'mixup.prob': '0.5,0.8,1',
    'mixup.mode': 'batch,elem,pair',
    'mixup.labelSmoothing': '0,0.05,0.1',
    'optimizer.lr': '0.0003,0.001,0.003,0.01',
    'optimizer.weightDecay': '0,0.0001,0.001',
    'optimizer.name': 'adam,sgd',
    'optimizer.schedule': 'constant,cosine',
    'model.head.hidden': '0,64,256',
    'augment.padCrop': '0,2,4',
  };
  if (known[key]) return known[key];
  if (key === 'mixup.offEpoch' && typeof current === 'number') return `null,${Math.max(1, current - 2)},${current}`;
  if (typeof current === 'number') {
    // Whole-number fields stay whole; a 0 (seed, padCrop, hidden units) gets neighbours, never "0,0,0".
    const whole = Number.isInteger(current);
    const around = current === 0 ? [0, 1, 2] : whole ? [Math.max(1, Math.round(current / 2)), current, current * 2] : [current / 2, current, current * 2];
    return [...new Set(around)].map(valueText).join(',');
  }
  if (typeof current === 'boolean') return 'false,true';
  return valueText(current ?? null);
}

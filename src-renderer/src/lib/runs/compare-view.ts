/** Shapes the compared runs for the overlaid curves and the metric table (pure). */
import type { RunDetail } from '../../../../src-main/api/types';

export type CurveKey = 'valAccuracy' | 'valLoss' | 'trainLoss' | 'ece';

/** uPlot aligned data: x = every epoch any run has; one series per run (null where a run has no value). */
export function overlay(details: readonly RunDetail[], key: CurveKey): (number | null)[][] {
  const epochs = [...new Set(details.flatMap((d) => d.epochs.map((e) => e.epoch)))].sort((a, b) => a - b);
  const series = details.map((d) => {
    const by = new Map(d.epochs.map((e) => [e.epoch, e[key]]));
    return epochs.map((ep) => {
      const v = by.get(ep);
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
  });
  return [epochs, ...series];
}

export interface MetricRow {
  key: string;
  label: string;
  values: (number | null)[];
  /** value − baseline value per run (baseline = the first run); null when either is missing. */
  deltas: (number | null)[];
  higherIsBetter: boolean;
}

const METRICS: { key: 'valAccuracy' | 'valLoss' | 'ece' | 'eceCalibrated' | 'temperature'; label: string; higherIsBetter: boolean }[] = [
  { key: 'valAccuracy', label: 'Val accuracy', higherIsBetter: true },
  { key: 'valLoss', label: 'Val loss', higherIsBetter: false },
  { key: 'ece', label: 'ECE', higherIsBetter: false },
  { key: 'eceCalibrated', label: 'ECE after temperature scaling', higherIsBetter: false },
  { key: 'temperature', label: 'Temperature (fitted on val)', higherIsBetter: false },
];

export function metricRows(details: readonly RunDetail[]): MetricRow[] {
  return METRICS.map((m) => {
    const values = details.map((d) => {
      const v = d.metrics?.[m.key];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
    const base = values[0] ?? null;
    return { ...m, values, deltas: values.map((v, i) => (i === 0 || v === null || base === null ? null : v - base)) };
  });
}

/** A run's reliability diagram as bars: (x from, x to, accuracy, confidence) per non-empty bin, 0..1. */
export function reliabilityBars(bins: readonly { upper: number; count: number; confidence: number | null; accuracy: number | null }[]): { x0: number; x1: number; accuracy: number; confidence: number; count: number }[] {
  const width = bins.length ? 1 / bins.length : 0;
  return bins.flatMap((b) => (b.count > 0 && b.accuracy !== null && b.confidence !== null ? [{ x0: b.upper - width, x1: b.upper, accuracy: b.accuracy, confidence: b.confidence, count: b.count }] : []));
}

/** Per class: each run's validation accuracy and its delta against the first run (the baseline). */
export function perClassRows(details: readonly RunDetail[]): { cls: string; values: (number | null)[]; deltas: (number | null)[] }[] {
  const classes: string[] = [];
  for (const d of details) for (const c of d.classes ?? Object.keys(d.perClassAccuracy ?? {})) if (!classes.includes(c)) classes.push(c);
  return classes.map((cls) => {
    const values = details.map((d) => {
      const v = d.perClassAccuracy?.[cls];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
    const base = values[0];
    return { cls, values, deltas: values.map((v, i) => (i === 0 || v === null || base === null ? null : v - base)) };
  });
}

/** `run − baseline` cell by cell, when both have the same classes in the same order; else null. */
export function confusionDiff(base: RunDetail, other: RunDetail): number[][] | null {
  const a = base.confusion;
  const b = other.confusion;
  if (!a?.length || !b?.length || a.length !== b.length || JSON.stringify(base.classes) !== JSON.stringify(other.classes)) return null;
  return b.map((row, i) => row.map((v, j) => v - (a[i]?.[j] ?? 0)));
}

/** The best epoch of a run by a metric (highest accuracy, lowest loss), and its final value. */
export function bestEpoch(d: RunDetail, key: 'valAccuracy' | 'valLoss'): { epoch: number; value: number; final: number | null } | null {
  let best: { epoch: number; value: number } | null = null;
  for (const e of d.epochs) {
    const v = e[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (!best || (key === 'valAccuracy' ? v > best.value : v < best.value)) best = { epoch: e.epoch, value: v };
  }
  const last = d.epochs.at(-1)?.[key];
  return best ? { ...best, final: typeof last === 'number' ? last : null } : null;
}

type Snapshot = { pairs?: { a: string; b: string; weight: number }[] } | null | undefined;

const pairKey = (a: string, b: string) => (a < b ? `${a} × ${b}` : `${b} × ${a}`);
const weightWord = (w: number | undefined) => (w === undefined || w === 1 ? 'allowed' : w === 0 ? 'forbidden' : `weight ${Number(w.toPrecision(6))}`);

/** The pair-policy snapshot of a run against the baseline's, in words: "coat × pullover: forbidden → allowed". */
export function policyDiff(base: RunDetail, other: RunDetail): string[] {
  const map = (s: Snapshot) => new Map((s?.pairs ?? []).map((p) => [pairKey(p.a, p.b), p.weight]));
  const a = map((base.config as { policy?: Snapshot }).policy);
  const b = map((other.config as { policy?: Snapshot }).policy);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => (a.get(k) ?? 1) !== (b.get(k) ?? 1)).map((k) => `${k}: ${weightWord(a.get(k))} → ${weightWord(b.get(k))}`);
}

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled; null is empty. */
export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const field = (v: string | number | null | undefined) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** The comparison as CSV: metrics, best epochs and per-class accuracy, one column per run. */
export function compareCsv(details: readonly RunDetail[]): string {
  const head = ['metric', ...details.map((d) => `#${d.run.id}${d.name ? ` ${d.name}` : ''}`)];
  const rows: (string | number | null)[][] = [head];
  for (const r of metricRows(details)) rows.push([r.label, ...r.values]);
  for (const key of ['valAccuracy', 'valLoss'] as const) rows.push([`best ${key} epoch`, ...details.map((d) => bestEpoch(d, key)?.epoch ?? null)]);
  for (const r of perClassRows(details)) rows.push([`val accuracy: ${r.cls}`, ...r.values]);
  return toCsv(rows);
}

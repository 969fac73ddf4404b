/** Shapes the compared runs for the overlaid curves and the metric table (pure). */
import type { CompareResult, RunDetail } from '../../../../src-main/api/types';

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
  /** null: neither direction is better (the temperature): deltas are shown uncoloured. */
  higherIsBetter: boolean | null;
}

type Metrics = RunDetail['metrics'];
const METRICS: { key: string; label: string; higherIsBetter: boolean | null; get(m: Metrics): number | null | undefined }[] = [
  { key: 'valAccuracy', label: 'Val accuracy', higherIsBetter: true, get: (m) => m.valAccuracy },
  { key: 'valLoss', label: 'Val loss', higherIsBetter: false, get: (m) => m.valLoss },
  { key: 'ece', label: 'Val ECE (last epoch)', higherIsBetter: false, get: (m) => m.ece },
  // Before and after scaling on the same split (test when there is one), so the gap is the scaling's alone.
  { key: 'calibrationEce', label: 'ECE before temperature scaling (calibration split)', higherIsBetter: false, get: (m) => m.calibration?.ece },
  { key: 'eceCalibrated', label: 'ECE after temperature scaling (calibration split)', higherIsBetter: false, get: (m) => m.calibration?.eceCalibrated },
  { key: 'temperature', label: 'Temperature (fitted on val)', higherIsBetter: null, get: (m) => m.calibration?.temperature },
];

export function metricRows(details: readonly RunDetail[]): MetricRow[] {
  return METRICS.map(({ get, ...m }) => {
    const values = details.map((d) => {
      const v = d.metrics ? get(d.metrics) : null;
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

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled; null is empty. */
export function toCsv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const field = (v: string | number | null | undefined) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** The comparison (`runs:compare`'s document and the runs' details) as CSV: metrics, best epochs, per-class accuracy. */
export function compareCsv(doc: CompareResult, details: readonly RunDetail[]): string {
  const head = ['metric', ...details.map((d) => `#${d.run.id}${d.name ? ` ${d.name}` : ''}`)];
  const rows: (string | number | null)[][] = [head];
  for (const r of metricRows(details)) rows.push([r.label, ...r.values]);
  rows.push(['best valAccuracy', ...doc.metrics.map((m) => m.best.valAccuracy)]);
  rows.push(['best valAccuracy epoch', ...doc.metrics.map((m) => m.best.valAccuracyEpoch)]);
  rows.push(['best valLoss', ...doc.metrics.map((m) => m.best.valLoss)]);
  rows.push(['best valLoss epoch', ...doc.metrics.map((m) => m.best.valLossEpoch)]);
  for (const c of doc.perClass) rows.push([`val accuracy: ${c.class}`, ...c.accuracy]);
  return toCsv(rows);
}

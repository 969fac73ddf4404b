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

const METRICS: { key: 'valAccuracy' | 'valLoss' | 'ece'; label: string; higherIsBetter: boolean }[] = [
  { key: 'valAccuracy', label: 'Val accuracy', higherIsBetter: true },
  { key: 'valLoss', label: 'Val loss', higherIsBetter: false },
  { key: 'ece', label: 'ECE', higherIsBetter: false },
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

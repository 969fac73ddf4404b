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

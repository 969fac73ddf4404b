/** uPlot option builders for the app's charts (dark theme, shared palette). */
import uPlot from 'uplot';

export const PALETTE = ['#8b7cf6', '#3dd68c', '#f5a623', '#4cc3ff', '#e5484d', '#ff7ac6', '#c2e35b', '#b0b7c6'];

const axisStyle = {
  stroke: '#9aa1b1',
  grid: { stroke: '#2c313b', width: 1 },
  ticks: { stroke: '#2c313b', width: 1 },
};

export interface LineSeries {
  label: string;
  color?: string;
  dash?: number[];
  scale?: string;
  width?: number;
}

export function lineOptions(
  series: LineSeries[],
  opts: { xLabel?: string; yLabel?: string; y2Label?: string; title?: string } = {},
): Omit<uPlot.Options, 'width' | 'height'> {
  const hasY2 = series.some((s) => s.scale === 'y2');
  return {
    title: opts.title,
    scales: { x: { time: false }, y: { auto: true }, ...(hasY2 ? { y2: { auto: true } } : {}) },
    axes: [
      // Epochs are whole numbers: ticks only on integers.
      { ...axisStyle, label: opts.xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
      { ...axisStyle, label: opts.yLabel },
      ...(hasY2 ? [{ ...axisStyle, scale: 'y2', side: 1 as const, grid: { show: false }, label: opts.y2Label }] : []),
    ],
    series: [
      { label: opts.xLabel ?? 'x' },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color ?? PALETTE[i % PALETTE.length],
        width: s.width ?? 2,
        dash: s.dash,
        scale: s.scale ?? 'y',
        spanGaps: true,
        points: { show: true, size: 5 },
      })),
    ],
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
  };
}

/** Vertical bars over categories (x = 0..n-1, labelled by `categories`). */
export function barOptions(
  categories: readonly string[],
  series: LineSeries[],
  opts: { yLabel?: string; title?: string; colorOf?: (seriesIdx: number, dataIdx: number) => string } = {},
): Omit<uPlot.Options, 'width' | 'height'> {
  const bars = uPlot.paths.bars!({ size: [0.8, 64], gap: 1 });
  const step = Math.max(1, Math.ceil(categories.length / 30));
  return {
    title: opts.title,
    scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }, y: { auto: true, range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
    axes: [
      {
        ...axisStyle,
        grid: { show: false },
        splits: () => categories.map((_, i) => i).filter((i) => i % step === 0),
        values: (_u, splits) => splits.map((i) => categories[i] ?? ''),
        rotate: categories.length > 8 ? -35 : 0,
        size: categories.length > 8 ? 70 : 40,
      } as uPlot.Axis,
      { ...axisStyle, label: opts.yLabel },
    ],
    series: [
      { label: 'class', value: (_u, v) => (v == null ? '' : (categories[v] ?? '')) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color ?? PALETTE[i % PALETTE.length],
        fill: (s.color ?? PALETTE[i % PALETTE.length]) + 'cc',
        width: 0,
        paths: bars,
        points: { show: false },
      })),
    ],
    legend: { show: series.length > 1, live: false },
    cursor: { drag: { x: false, y: false } },
  };
}

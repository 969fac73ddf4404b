/** Sorting, filtering and reading of the runs table (pure). */
import type { RunListItem } from '../../../../src-main/api/types';
import { toCsv } from './compare-view';

export type RunSortKey = 'id' | 'name' | 'dataset' | 'status' | 'createdAt' | 'valAccuracy' | 'valLoss' | 'ece' | 'alpha' | 'offEpoch';

export function runDatasetName(r: RunListItem): string {
  const d = r.dataset as unknown;
  if (typeof d === 'string') return d;
  if (d && typeof d === 'object') return String((d as { name?: string }).name ?? (d as { id?: number }).id ?? '');
  return String((r as { datasetName?: string }).datasetName ?? '');
}

function sortValue(r: RunListItem, key: RunSortKey): string | number | null {
  switch (key) {
    case 'id':
      return r.id;
    case 'dataset':
      return runDatasetName(r).toLowerCase();
    case 'status':
      return r.status;
    case 'createdAt':
      return r.createdAt ?? '';
    case 'name':
      return r.name?.toLowerCase() ?? null;
    case 'alpha':
      return r.summary?.alpha ?? null;
    case 'offEpoch':
      return r.summary?.offEpoch ?? null;
    default: {
      const v = r.metrics?.[key];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
  }
}

/** Sorted copy; missing values always last whatever the direction. */
export function sortRuns(runs: readonly RunListItem[], key: RunSortKey, dir: 'asc' | 'desc'): RunListItem[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...runs].sort((x, y) => {
    const a = sortValue(x, key);
    const b = sortValue(y, key);
    if (a === null && b === null) return x.id - y.id;
    if (a === null) return 1;
    if (b === null) return -1;
    const c = a < b ? -1 : a > b ? 1 : 0;
    return c !== 0 ? c * sign : x.id - y.id;
  });
}

/** Runs whose id, dataset or status contains every word of the query. */
export function filterRuns(runs: readonly RunListItem[], query: string): RunListItem[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...runs];
  return runs.filter((r) => {
    const hay = `#${r.id} ${r.id} ${runDatasetName(r)} ${r.status} ${r.name ?? ''} ${(r.tags ?? []).join(' ')} ${r.summary?.backbone ?? ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** The runs table as CSV, in its order: what the screen shows, plus the config at a glance. */
export function runsCsv(list: readonly RunListItem[]): string {
  const rows: (string | number | null)[][] = [['id', 'name', 'tags', 'dataset', 'status', 'createdAt', 'valAccuracy', 'valLoss', 'ece', 'eceCalibrated', 'alpha', 'cutmixAlpha', 'offEpoch', 'backbone', 'forbiddenPairs', 'weightedPairs', 'sweep', 'note']];
  for (const r of list) {
    rows.push([r.id, r.name, r.tags.join(' '), runDatasetName(r), r.status, r.createdAt, r.metrics.valAccuracy, r.metrics.valLoss, r.metrics.ece, r.metrics.eceCalibrated ?? null, r.summary.alpha, r.summary.cutmixAlpha, r.summary.offEpoch, r.summary.backbone, r.summary.forbidden, r.summary.weighted, r.sweep ? `sweep ${r.sweep.id} trial ${r.sweep.trial + 1}` : null, r.note]);
  }
  return toCsv(rows);
}

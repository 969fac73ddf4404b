/**
 * `runs:compare`: what differs between runs and how they did — the config diff as dotted keys (only the
 * keys whose values differ), final and best metrics side by side, per-epoch curves aligned by epoch and
 * per-class accuracy with its difference from the first run.
 */
import type { EpochRow, RunInfo } from '../training/runs-repository';

export interface CompareRunInfo {
  id: number;
  dataset: string;
  status: string;
  createdAt: string;
  backend: string | null;
  epochs: number;
}

export interface CompareDoc {
  runs: CompareRunInfo[];
  /** One entry per dotted key whose value differs; `values[i]` belongs to `runs[i]` (null = key absent). */
  configDiff: { key: string; values: unknown[] }[];
  metrics: {
    run: number;
    final: { valAccuracy: number | null; valLoss: number | null; ece: number | null; epoch: number | null };
    best: {
      valAccuracy: number | null;
      valAccuracyEpoch: number | null;
      valLoss: number | null;
      valLossEpoch: number | null;
      ece: number | null;
      eceEpoch: number | null;
    };
    test: { accuracy: number; loss: number; ece: number } | null;
  }[];
  /** Aligned by epoch over the longest run: one row per epoch, values index-aligned with `runs` (null = no such epoch). */
  curves: {
    epoch: number;
    trainLoss: (number | null)[];
    valLoss: (number | null)[];
    valAccuracy: (number | null)[];
    ece: (number | null)[];
    mixupActive: (boolean | null)[];
  }[];
  /** Per class (union of the runs' classes): accuracy per run and its difference from the first run. */
  perClass: { class: string; accuracy: (number | null)[]; deltaVsFirst: (number | null)[] }[];
  /**
   * Per run after the first: its pair-policy snapshot against the first run's, in words ("coat × shirt:
   * forbidden → weight 0.3"); empty when they forbid and weigh the same pairs.
   */
  policyDiff: { run: number; changes: string[] }[];
  /** Per run after the first: its validation confusion matrix minus the first run's (null: none, or other classes). */
  confusionDiff: { run: number; matrix: number[][] | null }[];
}

type PolicySnapshot = { pairs?: { a: string; b: string; weight: number }[] } | null | undefined;

const pairKey = (a: string, b: string) => (a < b ? `${a} × ${b}` : `${b} × ${a}`);
const weightWord = (w: number | undefined) => (w === undefined || w === 1 ? 'allowed' : w === 0 ? 'forbidden' : `weight ${Number(w.toPrecision(6))}`);

/** Two pair-policy snapshots' differences in words, whatever each pair's order. */
export function policyChanges(from: PolicySnapshot, to: PolicySnapshot): string[] {
  const map = (s: PolicySnapshot) => new Map((s?.pairs ?? []).map((p) => [pairKey(p.a, p.b), p.weight]));
  const a = map(from);
  const b = map(to);
  return [...new Set([...a.keys(), ...b.keys()])]
    .sort()
    .filter((k) => (a.get(k) ?? 1) !== (b.get(k) ?? 1))
    .map((k) => `${k}: ${weightWord(a.get(k))} → ${weightWord(b.get(k))}`);
}

/** `other − base` cell by cell, when both have a matrix over the same classes in the same order; else null. */
export function confusionDifference(base: RunInfo, other: RunInfo): number[][] | null {
  const a = base.confusion;
  const b = other.confusion;
  if (!a?.length || !b?.length || a.length !== b.length || JSON.stringify(base.classes) !== JSON.stringify(other.classes)) return null;
  return b.map((row, i) => row.map((v, j) => v - (a[i]?.[j] ?? 0)));
}

/** Flattens a JSON value into dotted keys; arrays and primitives are leaves. */
export function flattenConfig(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.set(prefix, value);
  return out;
}

/** Stable JSON (sorted object keys) for equality of leaves. */
function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

export function configDiff(configs: unknown[]): { key: string; values: unknown[] }[] {
  const flat = configs.map((c) => flattenConfig(c));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  const diff: { key: string; values: unknown[] }[] = [];
  for (const key of keys) {
    const values = flat.map((f) => (f.has(key) ? f.get(key) : undefined));
    if (new Set(values.map(canonical)).size > 1) diff.push({ key, values: values.map((v) => (v === undefined ? null : v)) });
  }
  return diff;
}

function bestOf(epochs: EpochRow[], key: 'valAccuracy' | 'valLoss' | 'ece', higher: boolean): [number | null, number | null] {
  let best: number | null = null;
  let at: number | null = null;
  for (const e of epochs) {
    const v = e[key];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (best === null || (higher ? v > best : v < best)) {
      best = v;
      at = e.epoch;
    }
  }
  return [best, at];
}

export function compareRuns(runs: RunInfo[]): CompareDoc {
  const maxEpoch = Math.max(-1, ...runs.flatMap((r) => r.epochs.map((e) => e.epoch)));
  const byEpoch = runs.map((r) => new Map(r.epochs.map((e) => [e.epoch, e])));
  const curves: CompareDoc['curves'] = [];
  for (let epoch = 0; epoch <= maxEpoch; epoch++) {
    const rows = byEpoch.map((m) => m.get(epoch));
    curves.push({
      epoch,
      trainLoss: rows.map((e) => e?.trainLoss ?? null),
      valLoss: rows.map((e) => e?.valLoss ?? null),
      valAccuracy: rows.map((e) => e?.valAccuracy ?? null),
      ece: rows.map((e) => e?.ece ?? null),
      mixupActive: rows.map((e) => (e ? e.mixup.active : null)),
    });
  }
  const classes = [...new Set(runs.flatMap((r) => [...r.classes, ...Object.keys(r.perClassAccuracy ?? {})]))];
  const perClass = classes.map((name) => {
    const accuracy = runs.map((r) => {
      const v = r.perClassAccuracy?.[name];
      return typeof v === 'number' ? v : null;
    });
    const first = accuracy[0] ?? null;
    return { class: name, accuracy, deltaVsFirst: accuracy.map((a) => (a === null || first === null ? null : a - first)) };
  });
  return {
    runs: runs.map((r) => ({ id: r.id, dataset: r.datasetName, status: r.status, createdAt: r.createdAt, backend: r.backend, epochs: r.epochs.length })),
    configDiff: configDiff(runs.map((r) => r.config)),
    metrics: runs.map((r) => {
      const last = r.epochs[r.epochs.length - 1];
      const [bestAcc, bestAccEpoch] = bestOf(r.epochs, 'valAccuracy', true);
      const [bestLoss, bestLossEpoch] = bestOf(r.epochs, 'valLoss', false);
      const [bestEce, bestEceEpoch] = bestOf(r.epochs, 'ece', false);
      return {
        run: r.id,
        final: { valAccuracy: r.metrics.valAccuracy, valLoss: r.metrics.valLoss, ece: r.metrics.ece, epoch: last?.epoch ?? null },
        best: { valAccuracy: bestAcc, valAccuracyEpoch: bestAccEpoch, valLoss: bestLoss, valLossEpoch: bestLossEpoch, ece: bestEce, eceEpoch: bestEceEpoch },
        test: r.test ? { accuracy: r.test.accuracy, loss: r.test.loss, ece: r.test.ece } : null,
      };
    }),
    curves,
    perClass,
    policyDiff: runs.slice(1).map((r) => ({ run: r.id, changes: policyChanges((runs[0]!.config as { policy?: PolicySnapshot }).policy, (r.config as { policy?: PolicySnapshot }).policy) })),
    confusionDiff: runs.slice(1).map((r) => ({ run: r.id, matrix: confusionDifference(runs[0]!, r) })),
  };
}

/**
 * Sweeps in SQLite (migration 0010): the sweep row and its trials, and the document `sweep`, `sweep show` and
 * the Sweeps screen read (CLI.md "Sweeps"). A trial's epochs and metrics are its run's: the run is the record.
 */
import { dirname, join } from 'node:path';
import type { Db } from '../db/connection';
import { AppError } from '../core/errors';
import { homePaths } from '../core/services';
import { probeFileLock } from '../core/file-lock';
import { findRunEpochs, type RunInfo } from '../training/runs-repository';
import type { BackendName } from '../training/engine/index';
import type { HyperbandOptions } from './hyperband';
import type { ParamSpec, Point } from './space';

export const SWEEP_METRICS = ['valLoss', 'valAccuracy', 'ece', 'eceCalibrated'] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];
export type SweepMethod = 'grid' | 'random' | 'bayes';
export type SweepStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';
export type TrialStatus = 'pending' | 'running' | 'completed' | 'stopped' | 'failed' | 'cancelled' | 'interrupted';

/** Whether a lower value of the metric is better. */
export const lowerIsBetter = (m: SweepMetric) => m !== 'valAccuracy';

/**
 * The per-epoch column a metric is followed by (the curves, Hyperband's rungs): its own, except the
 * temperature-scaled ECE, which exists once a run has completed: its epochs follow the plain ECE.
 */
export const epochColumn = (m: SweepMetric): 'valLoss' | 'valAccuracy' | 'ece' => (m === 'eceCalibrated' ? 'ece' : m);

export interface SweepSpec {
  method: SweepMethod;
  metric: SweepMetric;
  space: ParamSpec[];
  /** Trials the sweep runs (a grid: its points, or fewer with --trials). */
  trials: number;
  earlyStop: 'none' | 'hyperband';
  hyperband: HyperbandOptions;
  seed: number;
  parallel: number;
  /** wasm threads per trial (null: every core, one trial at a time). */
  threads: number | null;
  backend?: BackendName;
  configSource: string;
}

export interface TrialRow {
  index: number;
  params: Point;
  runId: number | null;
  status: TrialStatus;
  stoppedAt: number | null;
  seconds: number | null;
  trainSeconds: number | null;
  error: string | null;
}

export interface SweepRow {
  id: number;
  datasetId: number | null;
  datasetName: string;
  status: SweepStatus;
  spec: SweepSpec;
  baseConfig: Record<string, unknown>;
  createdAt: string;
  finishedAt: string | null;
  pid: number | null;
  cancelRequested: boolean;
  error: string | null;
  trials: TrialRow[];
}

interface DbSweep {
  id: number;
  dataset_id: number | null;
  dataset_name: string;
  status: SweepStatus;
  spec: string;
  base_config: string;
  created_at: string;
  finished_at: string | null;
  pid: number | null;
  cancel_requested: number;
  error: string | null;
}

interface DbTrial {
  idx: number;
  params: string;
  run_id: number | null;
  status: Exclude<TrialStatus, 'interrupted'>;
  stopped_at: number | null;
  seconds: number | null;
  train_seconds: number | null;
  error: string | null;
}

const now = () => new Date().toISOString();

/** The lock the process running sweep `id` holds: `RUNS/sweep-ID.lock`. */
export function sweepLockPath(runsDir: string, id: number): string {
  return join(runsDir, `sweep-${id}.lock`);
}

function lockOf(db: Db, id: number): string | null {
  if (!db.name || db.memory) return null;
  return sweepLockPath(homePaths(dirname(db.name)).runs, id);
}

export function createSweep(db: Db, s: { datasetId: number; datasetName: string; spec: SweepSpec; baseConfig: unknown; pid: number }): number {
  const r = db
    .prepare(`INSERT INTO sweeps (dataset_id, dataset_name, spec, base_config, pid) VALUES (?, ?, ?, ?, ?)`)
    .run(s.datasetId, s.datasetName, JSON.stringify(s.spec), JSON.stringify(s.baseConfig), s.pid);
  return Number(r.lastInsertRowid);
}

/** Adds trial `index` with its point (a grid's and random's are all added at once; bayes adds each when chosen). */
export function addTrial(db: Db, sweepId: number, index: number, params: Point): void {
  db.prepare(`INSERT INTO sweep_trials (sweep_id, idx, params) VALUES (?, ?, ?)`).run(sweepId, index, JSON.stringify(params));
}

export function startTrial(db: Db, sweepId: number, index: number, runId: number): void {
  db.prepare(`UPDATE sweep_trials SET run_id = ?, status = 'running', error = NULL WHERE sweep_id = ? AND idx = ?`).run(runId, sweepId, index);
}

export function finishTrial(
  db: Db,
  sweepId: number,
  index: number,
  t: { status: Exclude<TrialStatus, 'pending' | 'running' | 'interrupted'>; stoppedAt?: number | null; seconds?: number | null; trainSeconds?: number | null; error?: string | null },
): void {
  db.prepare(`UPDATE sweep_trials SET status = ?, stopped_at = ?, seconds = ?, train_seconds = ?, error = ? WHERE sweep_id = ? AND idx = ?`).run(
    t.status,
    t.stoppedAt ?? null,
    t.seconds ?? null,
    t.trainSeconds ?? null,
    t.error ?? null,
    sweepId,
    index,
  );
}

/** The sweep's process takes it (a new sweep, or a resume): running, its pid, no cancel asked. */
export function claimSweep(db: Db, id: number, pid: number): void {
  db.prepare(`UPDATE sweeps SET status = 'running', pid = ?, cancel_requested = 0, finished_at = NULL, error = NULL WHERE id = ?`).run(pid, id);
}

export function finishSweep(db: Db, id: number, status: Exclude<SweepStatus, 'running' | 'interrupted'>, error: string | null = null): void {
  db.prepare(`UPDATE sweeps SET status = ?, finished_at = ?, pid = NULL, error = ? WHERE id = ?`).run(status, now(), error, id);
}

export function requestCancel(db: Db, id: number): void {
  db.prepare(`UPDATE sweeps SET cancel_requested = 1 WHERE id = ?`).run(id);
}

export function cancelRequested(db: Db, id: number): boolean {
  const r = db.prepare(`SELECT cancel_requested FROM sweeps WHERE id = ?`).get(id) as { cancel_requested: number } | undefined;
  return r?.cancel_requested === 1;
}

/** Whether the process that runs sweep `id` is alive (holds its lock). */
export function sweepAlive(db: Db, id: number): boolean {
  const file = lockOf(db, id);
  return file !== null && probeFileLock(file) === 'held';
}

function toRow(db: Db, r: DbSweep): SweepRow {
  const alive = r.status === 'running' && sweepAlive(db, r.id);
  const trials = (db.prepare(`SELECT * FROM sweep_trials WHERE sweep_id = ? ORDER BY idx`).all(r.id) as DbTrial[]).map(
    (t): TrialRow => ({
      index: t.idx,
      params: JSON.parse(t.params) as Point,
      runId: t.run_id,
      // A trial its sweep's process left running when it died reads as interrupted (resume continues its run).
      status: t.status === 'running' && !alive ? 'interrupted' : t.status,
      stoppedAt: t.stopped_at,
      seconds: t.seconds,
      trainSeconds: t.train_seconds,
      error: t.error,
    }),
  );
  return {
    id: r.id,
    datasetId: r.dataset_id,
    datasetName: r.dataset_name,
    status: r.status === 'running' && !alive ? 'interrupted' : r.status,
    spec: JSON.parse(r.spec) as SweepSpec,
    baseConfig: JSON.parse(r.base_config) as Record<string, unknown>,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    pid: r.pid,
    cancelRequested: r.cancel_requested === 1,
    error: r.error,
    trials,
  };
}

export function parseSweepId(id: number | string): number {
  const n = typeof id === 'number' ? id : /^\d+$/.test(id.trim()) ? Number(id) : NaN;
  if (!Number.isInteger(n)) throw new AppError('input', `SWEEP: expected a sweep id (a number), got '${id}'`);
  return n;
}

export function getSweep(db: Db, id: number | string): SweepRow {
  const n = parseSweepId(id);
  const r = db.prepare(`SELECT * FROM sweeps WHERE id = ?`).get(n) as DbSweep | undefined;
  if (!r) throw new AppError('not-found', `sweep ${n} does not exist`);
  return toRow(db, r);
}

export function listSweeps(db: Db): SweepRow[] {
  return (db.prepare(`SELECT * FROM sweeps ORDER BY id`).all() as DbSweep[]).map((r) => toRow(db, r));
}

/** The sweep each run belongs to, for the runs that are trials (run id → sweep id, trial index). */
export function sweepOfRuns(db: Db): Map<number, { sweep: number; trial: number }> {
  const rows = db.prepare(`SELECT sweep_id, idx, run_id FROM sweep_trials WHERE run_id IS NOT NULL`).all() as { sweep_id: number; idx: number; run_id: number }[];
  return new Map(rows.map((r) => [r.run_id, { sweep: r.sweep_id, trial: r.idx }]));
}

// ---- the document ----

export interface TrialMetrics {
  valLoss: number | null;
  valAccuracy: number | null;
  ece: number | null;
  /** ECE after temperature scaling, on val where T was fitted (a completed run's; null before): test stays out of the choice. */
  eceCalibrated: number | null;
}

export interface TrialDoc {
  index: number;
  run: { id: number } | null;
  params: Point;
  status: TrialStatus;
  /** Epochs the trial's run recorded. */
  epochs: number;
  /** Epochs its config asks for (null before its run exists). */
  epochsPlanned: number | null;
  /** The run's final metrics (a stopped trial's: those of its last epoch). */
  metrics: TrialMetrics;
  /** Per epoch, the swept metric (for the curves and the early-stopping picture). */
  curve: Array<number | null>;
  stoppedAt: number | null;
  seconds: number | null;
  /** Wall time of the trial beyond its epochs' training (set-up, data, saving, evaluation of the test split). */
  overheadSeconds: number | null;
  error: string | null;
}

export interface SweepDoc {
  sweep: { id: number };
  status: SweepStatus;
  metric: SweepMetric;
  dataset: string;
  datasetId: number | null;
  method: SweepMethod;
  earlyStop: SweepSpec['earlyStop'];
  hyperband: HyperbandOptions | null;
  space: ParamSpec[];
  seed: number;
  parallel: number;
  threadsPerTrial: number | null;
  trialsPlanned: number;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  trials: TrialDoc[];
  best: { run: { id: number }; index: number; params: Point; metrics: TrialMetrics; epochs: number } | null;
}

function metricSeries(run: RunInfo | null, metric: SweepMetric): Array<number | null> {
  return run ? run.epochs.map((e) => e[epochColumn(metric)]) : [];
}

/** The trial a sweep would call best: completed, the best final metric, then fewer epochs, then the earlier trial. */
export function bestTrial(trials: TrialDoc[], metric: SweepMetric): TrialDoc | null {
  const sign = lowerIsBetter(metric) ? 1 : -1;
  let best: TrialDoc | null = null;
  for (const t of trials) {
    const v = t.metrics[metric];
    if (t.status !== 'completed' || t.run === null || v === null || !Number.isFinite(v)) continue;
    if (!best) {
      best = t;
      continue;
    }
    const bv = best.metrics[metric]!;
    if (sign * v < sign * bv || (v === bv && t.epochs < best.epochs)) best = t;
  }
  return best;
}

export function sweepDoc(db: Db, s: SweepRow): SweepDoc {
  const trials = s.trials.map((t): TrialDoc => {
    const run = t.runId !== null ? findRunEpochs(db, t.runId) : null;
    const epochSeconds = run ? run.epochs.reduce((a, e) => a + e.seconds, 0) : 0;
    return {
      index: t.index,
      run: t.runId !== null ? { id: t.runId } : null,
      params: t.params,
      status: t.status,
      epochs: run ? run.epochs.length : 0,
      epochsPlanned: run ? run.epochsPlanned : null,
      metrics: run
        ? { valLoss: run.metrics.valLoss, valAccuracy: run.metrics.valAccuracy, ece: run.metrics.ece, eceCalibrated: run.metrics.calibration?.val.eceCalibrated ?? null }
        : { valLoss: null, valAccuracy: null, ece: null, eceCalibrated: null },
      curve: metricSeries(run ?? null, s.spec.metric),
      stoppedAt: t.stoppedAt,
      seconds: t.seconds,
      overheadSeconds: t.seconds !== null && run ? Math.max(0, t.seconds - epochSeconds) : null,
      error: t.error ?? (run?.status === 'failed' ? run.error : null),
    };
  });
  const b = bestTrial(trials, s.spec.metric);
  return {
    sweep: { id: s.id },
    status: s.status,
    metric: s.spec.metric,
    dataset: s.datasetName,
    datasetId: s.datasetId,
    method: s.spec.method,
    earlyStop: s.spec.earlyStop,
    hyperband: s.spec.earlyStop === 'hyperband' ? s.spec.hyperband : null,
    space: s.spec.space,
    seed: s.spec.seed,
    parallel: s.spec.parallel,
    threadsPerTrial: s.spec.threads,
    trialsPlanned: s.spec.trials,
    createdAt: s.createdAt,
    finishedAt: s.finishedAt,
    error: s.error,
    trials,
    best: b ? { run: b.run!, index: b.index, params: b.params, metrics: b.metrics, epochs: b.epochs } : null,
  };
}

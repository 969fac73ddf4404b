/**
 * Runs in SQLite: the run row (resolved config, backend, preprocessing, final metrics), one row per epoch and
 * the MixUp audit per epoch. Rows become camelCase `RunInfo` records.
 */
import { dirname } from 'node:path';
import type { Db } from '../db/connection';
import type { EpochAudit } from '../mixup/audit';
import type { Preprocessing } from '../config/preprocessing';
import { AppError } from '../core/errors';
import { homePaths } from '../core/services';
import { processRunning } from '../core/temp-files';
import { probeFileLock } from '../core/file-lock';
import { runLockPath } from './run-lock';

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'cancelled', 'interrupted'];

export interface EpochMixup {
  active: boolean;
  alpha: number;
  prob: number;
  /** Manifold MixUp: the mixing points drawn this epoch (block name → batches). */
  manifold?: Record<string, number>;
}

export interface EpochRow {
  epoch: number;
  trainLoss: number;
  valLoss: number | null;
  valAccuracy: number | null;
  ece: number | null;
  nll: number | null;
  lr: number;
  mixup: EpochMixup;
  seconds: number;
  perClassAccuracy?: Record<string, number | null>;
  confusion?: number[][];
}

export interface RunMetrics {
  valAccuracy: number | null;
  valLoss: number | null;
  ece: number | null;
  nll?: number | null;
  /** Temperature scaling fitted on val at the end of a completed run (absent before, or without a val split). */
  temperature?: number;
  /** ECE after temperature scaling, on `calibration.split` (test when there is one). */
  eceCalibrated?: number;
  calibration?: import('./calibration').Calibration;
}

export interface TestMetrics {
  count: number;
  accuracy: number;
  loss: number;
  ece: number;
  nll: number;
  perClassAccuracy: Record<string, number | null>;
  confusion: number[][];
}

/** How images became model input for a run (the training data pipeline's own record). */
export type PreprocessingInfo = Preprocessing;

export interface RunInfo {
  id: number;
  datasetId: number | null;
  datasetName: string;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  backend: string | null;
  device: string | null;
  config: Record<string, unknown>;
  preprocessing: PreprocessingInfo | null;
  classes: string[];
  datasetFingerprint: string | null;
  epochsPlanned: number;
  epochs: EpochRow[];
  metrics: RunMetrics;
  perClassAccuracy: Record<string, number | null>;
  confusion: number[][];
  test?: TestMetrics;
  /** The MixUp audit of each epoch, in epoch order (null where the epoch recorded none). */
  audit: (EpochAudit | null)[];
  error: string | null;
  checkpointDir: string;
  modelDir: string | null;
  pid: number | null;
  heartbeatAt: string | null;
  /** What the user wrote on the run (`runs label`): none is part of its config. */
  name: string | null;
  tags: string[];
  note: string | null;
}

interface RunRow {
  id: number;
  dataset_id: number | null;
  dataset_name: string;
  status: RunStatus;
  created_at: string;
  finished_at: string | null;
  backend: string | null;
  device: string | null;
  config: string;
  preprocessing: string | null;
  classes: string;
  dataset_fingerprint: string | null;
  epochs_planned: number;
  metrics: string | null;
  per_class_accuracy: string | null;
  confusion: string | null;
  test: string | null;
  error: string | null;
  checkpoint_dir: string;
  model_dir: string | null;
  pid: number | null;
  heartbeat_at: string | null;
  name: string | null;
  tags: string;
  note: string | null;
}

interface EpochDbRow {
  epoch: number;
  train_loss: number;
  val_loss: number | null;
  val_accuracy: number | null;
  ece: number | null;
  nll: number | null;
  lr: number;
  mixup: string;
  seconds: number;
  per_class_accuracy: string | null;
  confusion: string | null;
}

const parse = <T>(s: string | null, fallback: T): T => (s === null || s === '' ? fallback : (JSON.parse(s) as T));
const now = () => new Date().toISOString();

/** A heartbeat older than this marks a `running` run as interrupted even if its pid was reused. */
export const HEARTBEAT_STALE_MS = 10 * 60 * 1000;

/** The lock file of a run of the home whose database is `db` (see ./run-lock.ts); null for an in-memory db. */
function lockFileOf(db: Db, id: number): string | null {
  if (!db.name || db.memory) return null;
  return runLockPath(homePaths(dirname(db.name)).runs, id);
}


type LiveRow = { id: number; status: RunStatus; pid: number | null; heartbeat_at: string | null };

/**
 * Whether the training process behind a `running` row is alive. The run lock decides when the run has one
 * (held: alive; left behind unlocked: its holder died). A row without a lock file (a run not yet claimed by
 * its worker, or one from an older version) falls back to its pid and heartbeat.
 */
function runAlive(db: Db, row: LiveRow): boolean {
  const file = lockFileOf(db, row.id);
  const lock = file ? probeFileLock(file) : 'absent';
  if (lock !== 'absent') return lock === 'held';
  const stale = row.heartbeat_at !== null && Date.now() - Date.parse(row.heartbeat_at) > HEARTBEAT_STALE_MS;
  const dead = row.pid !== null && !processRunning(row.pid);
  return !dead && !stale;
}

/**
 * The status to show for a row: a `running` run whose process is gone is `interrupted`. Derived, never
 * stored: reading must work on a read-only or full disk. The writes that happen anyway (a claim, a resume,
 * a cancel) persist it (`markInterruptedIfDead`).
 */
export function effectiveStatus(db: Db, row: LiveRow): RunStatus {
  if (row.status !== 'running' || runAlive(db, row)) return row.status;
  // It may have ended between the row's read and the probe: the stored end wins.
  const now = db.prepare(`SELECT status FROM runs WHERE id = ?`).get(row.id) as { status: RunStatus } | undefined;
  return now && now.status !== 'running' ? now.status : 'interrupted';
}

/** Stores `interrupted` for a `running` row whose process is dead (for callers that write anyway). */
export function markInterruptedIfDead(db: Db, id: number): void {
  const row = db.prepare(`SELECT id, status, pid, heartbeat_at FROM runs WHERE id = ?`).get(id) as LiveRow | undefined;
  if (!row || row.status !== 'running' || runAlive(db, row)) return;
  db.prepare(`UPDATE runs SET status = 'interrupted', pid = NULL WHERE id = ? AND status = 'running' AND pid IS ?`).run(id, row.pid);
}

/**
 * The training process `pid` ended without recording an end (killed, crashed, never started): interrupted.
 * Only while the row is still that process's (a run another process has claimed since is left alone).
 */
export function markInterruptedIfRunning(db: Db, id: number, pid: number | null): void {
  db.prepare(`UPDATE runs SET status = 'interrupted', pid = NULL WHERE id = ? AND status = 'running' AND pid IS ?`).run(id, pid);
}

/**
 * A run whose failure its worker could not record: `failed`, but only while the row is still held by one of
 * `pids` (the host that created it, that call's worker), never a row another process has claimed.
 */
export function failIfHeldBy(db: Db, id: number, pids: Array<number | null | undefined>, error: string): void {
  const own = pids.filter((p): p is number => typeof p === 'number');
  if (own.length === 0) return;
  db.prepare(
    `UPDATE runs SET status = 'failed', finished_at = ?, pid = NULL, error = ?
     WHERE id = ? AND status = 'running' AND pid IN (${own.map(() => '?').join(', ')})`,
  ).run(now(), error, id, ...own);
}

/**
 * A new run, `running` on behalf of `pid` (default: this process, which starts its worker) until the worker
 * claims it: if that process dies before, the pid rule shows the run interrupted.
 */
export function createRun(
  db: Db,
  r: { datasetId: number; datasetName: string; config: unknown; epochsPlanned: number; classes: string[]; datasetFingerprint: string; pid?: number },
): number {
  const info = db
    .prepare(
      `INSERT INTO runs (dataset_id, dataset_name, status, config, classes, dataset_fingerprint, epochs_planned, checkpoint_dir, pid, heartbeat_at)
       VALUES (?, ?, 'running', ?, ?, ?, ?, '', ?, ?)`,
    )
    .run(r.datasetId, r.datasetName, JSON.stringify(r.config), JSON.stringify(r.classes), r.datasetFingerprint, r.epochsPlanned, r.pid ?? process.pid, now());
  return Number(info.lastInsertRowid);
}

/** A new run's worker has started (not yet claimed): its pid stands for the run from now on. */
export function handOverRun(db: Db, id: number, fromPid: number, toPid: number): void {
  db.prepare(`UPDATE runs SET pid = ?, heartbeat_at = ? WHERE id = ? AND status = 'running' AND pid = ?`).run(toPid, now(), id, fromPid);
}

export function setRunPaths(db: Db, id: number, checkpointDir: string, modelDir: string): void {
  db.prepare(`UPDATE runs SET checkpoint_dir = ?, model_dir = ? WHERE id = ?`).run(checkpointDir, modelDir, id);
}

/**
 * The training process `pid`, holding the run's lock (./run-lock.ts), takes the run: one conditional UPDATE
 * in an immediate transaction, so it succeeds only from the state just read. Whoever held a `running` row
 * before is dead (the lock says so); a completed run is refused. AppError 'conflict' leaves the row as it was.
 */
export function claimRun(db: Db, id: number, pid: number): void {
  db.transaction(() => {
    const row = db.prepare(`SELECT status, pid FROM runs WHERE id = ?`).get(id) as { status: RunStatus; pid: number | null } | undefined;
    if (!row) throw new AppError('not-found', `run ${id} does not exist`);
    if (row.status === 'completed') throw new AppError('conflict', `run ${id} already completed; nothing to resume`);
    const info = db
      .prepare(
        `UPDATE runs SET status = 'running', pid = ?, heartbeat_at = ?, finished_at = NULL, error = NULL
         WHERE id = ? AND status = ? AND pid IS ?`,
      )
      .run(pid, now(), id, row.status, row.pid);
    if (info.changes !== 1) throw new AppError('conflict', `run ${id} changed while being claimed; try again`);
  }).immediate();
}

/** The pid a `running` row names (for a loser's message); null when none. */
export function runningPid(db: Db, id: number): number | null {
  const row = db.prepare(`SELECT status, pid FROM runs WHERE id = ?`).get(id) as { status: RunStatus; pid: number | null } | undefined;
  return row && row.status === 'running' ? row.pid : null;
}

export function setRunEngine(db: Db, id: number, backend: string, device: string, preprocessing: PreprocessingInfo): void {
  db.prepare(`UPDATE runs SET backend = ?, device = ?, preprocessing = ? WHERE id = ?`).run(backend, device, JSON.stringify(preprocessing), id);
}

export function heartbeat(db: Db, id: number): void {
  db.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ?`).run(now(), id);
}

/** Drops epochs ≥ `fromEpoch` (a resumed run recomputes them). */
export function dropEpochsFrom(db: Db, id: number, fromEpoch: number): void {
  db.prepare(`DELETE FROM run_epochs WHERE run_id = ? AND epoch >= ?`).run(id, fromEpoch);
  db.prepare(`DELETE FROM run_audit WHERE run_id = ? AND epoch >= ?`).run(id, fromEpoch);
}

export function recordEpoch(db: Db, id: number, row: EpochRow, audit: EpochAudit | null, metrics: RunMetrics): void {
  db.transaction(() => {
    db.prepare(
      `INSERT OR REPLACE INTO run_epochs (run_id, epoch, train_loss, val_loss, val_accuracy, ece, nll, lr, mixup, seconds, per_class_accuracy, confusion)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      row.epoch,
      row.trainLoss,
      row.valLoss,
      row.valAccuracy,
      row.ece,
      row.nll,
      row.lr,
      JSON.stringify(row.mixup),
      row.seconds,
      row.perClassAccuracy ? JSON.stringify(row.perClassAccuracy) : null,
      row.confusion ? JSON.stringify(row.confusion) : null,
    );
    db.prepare(`INSERT OR REPLACE INTO run_audit (run_id, epoch, audit) VALUES (?, ?, ?)`).run(id, row.epoch, JSON.stringify(audit ?? null));
    db.prepare(`UPDATE runs SET metrics = ?, per_class_accuracy = ?, confusion = ?, heartbeat_at = ? WHERE id = ?`).run(
      JSON.stringify(metrics),
      row.perClassAccuracy ? JSON.stringify(row.perClassAccuracy) : null,
      row.confusion ? JSON.stringify(row.confusion) : null,
      now(),
      id,
    );
  })();
}

export function finishRun(
  db: Db,
  id: number,
  status: Exclude<RunStatus, 'running'>,
  extra: { error?: string | null; test?: TestMetrics | null; calibration?: import('./calibration').Calibration | null } = {},
): void {
  const tx = db.transaction(() => {
    db.prepare(`UPDATE runs SET status = ?, finished_at = ?, pid = NULL, error = ?, test = COALESCE(?, test) WHERE id = ?`).run(
      status,
      now(),
      extra.error ?? null,
      extra.test ? JSON.stringify(extra.test) : null,
      id,
    );
    if (extra.calibration) {
      const row = db.prepare(`SELECT metrics FROM runs WHERE id = ?`).get(id) as { metrics: string | null } | undefined;
      const c = extra.calibration;
      const metrics = { ...parse<RunMetrics>(row?.metrics ?? null, { valAccuracy: null, valLoss: null, ece: null }), temperature: c.temperature, eceCalibrated: c.eceCalibrated, calibration: c };
      db.prepare(`UPDATE runs SET metrics = ? WHERE id = ?`).run(JSON.stringify(metrics), id);
    }
  });
  tx();
}

/** What of a run's detail to read: none (lists), its epochs (a sweep's curves and rungs), or epochs and audit. */
type Detail = boolean | 'epochs';

function rowToInfo(db: Db, row: RunRow, withDetail: Detail): RunInfo {
  const status = effectiveStatus(db, row);
  const epochs = withDetail
    ? (db.prepare(`SELECT * FROM run_epochs WHERE run_id = ? ORDER BY epoch`).all(row.id) as EpochDbRow[]).map(
        (e): EpochRow => ({
          epoch: e.epoch,
          trainLoss: e.train_loss,
          valLoss: e.val_loss,
          valAccuracy: e.val_accuracy,
          ece: e.ece,
          nll: e.nll,
          lr: e.lr,
          mixup: JSON.parse(e.mixup) as EpochMixup,
          seconds: e.seconds,
          perClassAccuracy: parse(e.per_class_accuracy, undefined),
          confusion: parse(e.confusion, undefined),
        }),
      )
    : [];
  const audit = withDetail === true
    ? (db.prepare(`SELECT audit FROM run_audit WHERE run_id = ? ORDER BY epoch`).all(row.id) as { audit: string }[]).map((a) => JSON.parse(a.audit))
    : [];
  const info: RunInfo = {
    id: row.id,
    datasetId: row.dataset_id,
    datasetName: row.dataset_name,
    status,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    backend: row.backend,
    device: row.device,
    config: parse(row.config, {}),
    preprocessing: parse<PreprocessingInfo | null>(row.preprocessing, null),
    classes: parse(row.classes, []),
    datasetFingerprint: row.dataset_fingerprint,
    epochsPlanned: row.epochs_planned,
    epochs,
    metrics: parse<RunMetrics>(row.metrics, { valAccuracy: null, valLoss: null, ece: null }),
    perClassAccuracy: parse(row.per_class_accuracy, {}),
    confusion: parse(row.confusion, []),
    audit,
    error: row.error,
    checkpointDir: row.checkpoint_dir,
    modelDir: row.model_dir,
    pid: status === 'running' ? row.pid : null,
    heartbeatAt: row.heartbeat_at,
    name: row.name ?? null,
    tags: parse<string[]>(row.tags ?? '[]', []),
    note: row.note ?? null,
  };
  const test = parse<TestMetrics | null>(row.test, null);
  if (test) info.test = test;
  return info;
}

export function findRun(db: Db, id: number): RunInfo | undefined {
  const row = db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
  return row ? rowToInfo(db, row, true) : undefined;
}

/**
 * The run with its epochs but not its MixUp audit (the largest part of a run's record): for what reads the
 * epochs of many runs often, a sweep's gate at each rung and its document polled by the Sweeps screen.
 */
export function findRunEpochs(db: Db, id: number): RunInfo | undefined {
  const row = db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
  return row ? rowToInfo(db, row, 'epochs') : undefined;
}

/** The run with its epochs and audit; AppError 'not-found' naming the id. */
export function getRun(db: Db, id: number | string): RunInfo {
  const n = typeof id === 'number' ? id : /^\d+$/.test(id.trim()) ? Number(id) : NaN;
  if (!Number.isInteger(n)) throw new AppError('input', `RUN: expected a run id (a number), got '${id}'`);
  const run = findRun(db, n);
  if (!run) throw new AppError('not-found', `run ${n} does not exist`);
  return run;
}

/** Every run, oldest first, without per-epoch detail. */
export function listRuns(db: Db): RunInfo[] {
  const rows = db.prepare(`SELECT * FROM runs ORDER BY id`).all() as RunRow[];
  return rows.map((r) => rowToInfo(db, r, false));
}

export const RUN_NAME_MAX = 120;
export const RUN_NOTE_MAX = 4000;

/**
 * Sets what the user writes on a run: a name (null clears it), tags added and removed (trimmed, kept in the
 * order first given, no duplicates), a note (null clears it). Refuses, naming the field, what is too long or
 * has control characters.
 */
export function labelRun(db: Db, id: number, l: { name?: string | null; addTags?: string[]; removeTags?: string[]; note?: string | null }): RunInfo {
  const run = getRun(db, id);
  const clean = (field: string, v: string, max: number, multiline = false) => {
    const t = v.trim();
    // eslint-disable-next-line no-control-regex
    if ((multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/).test(t)) throw new AppError('input', `${field}: control characters are not allowed`);
    if (t.length > max) throw new AppError('input', `${field}: at most ${max} characters, got ${t.length}`);
    return t;
  };
  const name = l.name === undefined ? run.name : l.name === null ? null : clean('name', l.name, RUN_NAME_MAX) || null;
  const note = l.note === undefined ? run.note : l.note === null ? null : clean('note', l.note.replace(/\r\n?/g, '\n'), RUN_NOTE_MAX, true) || null;
  let tags = [...run.tags];
  for (const t of l.addTags ?? []) {
    const c = clean('tag', t, 40);
    if (!c) throw new AppError('input', 'tag: a tag cannot be empty');
    if (/[,\s]/.test(c)) throw new AppError('input', `tag '${c}': a tag is one word (no spaces or commas)`);
    if (!tags.includes(c)) tags.push(c);
  }
  const drop = new Set((l.removeTags ?? []).map((t) => t.trim()));
  tags = tags.filter((t) => !drop.has(t));
  if (tags.length > 32) throw new AppError('input', `tags: at most 32 per run, got ${tags.length}`);
  // The tags were read above: write only if nobody changed them since (two label calls at once), else say so.
  const r = db.prepare(`UPDATE runs SET name = ?, tags = ?, note = ? WHERE id = ? AND tags = ?`).run(name, JSON.stringify(tags), note, run.id, JSON.stringify(run.tags));
  if (r.changes === 0) throw new AppError('conflict', `run ${run.id}'s tags changed while this label was written: try again`);
  return getRun(db, run.id);
}

/**
 * Running a sweep (issue 16): the trials, one ordinary run each, in training processes that stay up between
 * trials (./../training/host.ts `TrainingSession`), so the engine, the open database and the decoded images
 * (or the embedding store's rows) are reused, not reloaded: a trial's cost is its training.
 *
 * - Every trial's config is resolved and checked before the first trial starts (a grid's and random's every
 *   point; bayes: every listed value and both ends of every range), so a bad key or value is refused at once,
 *   naming it, with nothing written.
 * - The sweep row and its trials are written as they go; the process holds `RUNS/sweep-ID.lock` while it
 *   runs. Killed (even -9), the sweep reads as interrupted, and `sweep resume` keeps every finished trial (and
 *   its run id), resumes the runs of the trials that were running from their checkpoints, and runs the rest.
 * - `sweep cancel` (any process) sets the row's cancel flag; the sweep's process sees it, cancels its running
 *   trials at their next batch (their runs end `cancelled`, resumable) and ends `cancelled`.
 * - Hyperband (./hyperband.ts) decides at each rung in the worker's gate, from the stored epochs of the trials.
 * - `--parallel N` runs N trials at once, in N processes, each with its share of the cores as wasm threads.
 */
import os from 'node:os';
import { AppError, cancelled } from '../core/errors';
import type { Services } from '../core/services';
import { acquireFileLock, type FileLock } from '../core/file-lock';
import { createRng } from '../mixup/rng';
import { splitExportedConfig } from '../config/export-file';
import { resolveDataset, listUsableImages } from '../datasets/repository';
import { findRunEpochs, getRun, handOverRun } from '../training/runs-repository';
import type { BackendName } from '../training/engine/index';
import type { EmitTrainEvent, TrainEventMap, TrainTopic } from '../training/train-events';
import { suggestPoint, type Observation } from './bayes';
import { HYPERBAND_DEFAULTS, rungs, stopsAtRung, type HyperbandOptions } from './hyperband';
import {
  addTrial,
  cancelRequested,
  claimSweep,
  epochColumn,
  createSweep,
  finishSweep,
  finishTrial,
  getSweep,
  lowerIsBetter,
  startTrial,
  sweepDoc,
  sweepLockPath,
  type SweepDoc,
  type SweepMethod,
  type SweepMetric,
  type SweepSpec,
  type TrialRow,
} from './repository';
import { applyPoint, checkSpace, gridPoints, parseParam, randomPoint, showValue, type ParamSpec, type Point } from './space';

export interface SweepRequest {
  dataset: number | string;
  config: unknown;
  configSource?: string;
  /** `--param` arguments as written (./space.ts). */
  params: string[];
  method?: SweepMethod;
  trials?: number;
  metric?: SweepMetric;
  earlyStop?: 'none' | 'hyperband';
  eta?: number;
  minEpochs?: number;
  seed?: number;
  parallel?: number;
  backend?: BackendName;
  threads?: number;
}

export interface SweepEvents {
  /** The sweep's events; the trials' runs' events (`train.*`, `run.status`) come through too. */
  emit: <T extends TrainTopic | 'sweep.progress' | 'sweep.trial'>(topic: T, data: T extends TrainTopic ? TrainEventMap[T] : unknown) => void;
  signal?: AbortSignal;
  /** Sees the sweep's id once its row exists. */
  onCreated?(id: number): void;
  /** The training process a trial gets (the Electron app's utilityProcess); absent = a forked Node child. */
  transport?: () => import('../training/host').TrainingTransport;
}

export const DEFAULT_RANDOM_TRIALS = 10;

/** "mixup.alpha=0.2, mixup.offEpoch=null": a point as the messages and tables write it. */
export function describePoint(p: Point): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${showValue(v)}`)
    .join(', ');
}

function baseConfigOf(raw: unknown, source: string): Record<string, unknown> {
  const { config } = splitExportedConfig(raw);
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new AppError('input', `${source}: a run config is a JSON object`);
  return config as Record<string, unknown>;
}

/** The points a bayes sweep's check covers: every listed value and both ends of every range, one key at a time. */
function probePoints(space: ParamSpec[]): Point[] {
  const inside = (s: Extract<ParamSpec, { kind: 'range' }>) =>
    s.scale === 'int' ? [] : [s.scale === 'log' ? Math.exp(Math.log(s.min) + 0.37 * (Math.log(s.max) - Math.log(s.min))) : s.min + 0.37 * (s.max - s.min)];
  return space.flatMap((s) => (s.kind === 'values' ? s.values : [s.min, s.max, ...inside(s)]).map((v) => ({ [s.key]: v })));
}

/**
 * Checks every config the sweep will train before anything is written: returns the trials' points (a bayes
 * sweep's come one by one as it goes: none here). Errors name the point and the field.
 */
async function checkPoints(services: Services, dataset: number | string, base: Record<string, unknown>, source: string, points: Point[], warn: (m: string) => void, signal?: AbortSignal): Promise<void> {
  const { resolveNewRun } = await import('../training/prepare-run');
  const said = new Set<string>();
  for (const p of points) {
    if (signal?.aborted) throw cancelled('sweep');
    const config = applyPoint(base, p) as { trainOn?: unknown };
    if (config.trainOn === 'train+val') {
      throw new AppError('input', `--param ${describePoint(p)}: trainOn: "train+val" holds nothing out, so a sweep has no validation metric to rank by (sweep with "train", then \`sweep train-best\`)`);
    }
    try {
      await resolveNewRun(services, { dataset, config: applyPoint(base, p), configSource: source }, (m) => {
        if (!said.has(m)) warn(m);
        said.add(m);
      });
    } catch (err) {
      if (err instanceof AppError) {
        const range = Object.keys(p).find((k) => !Number.isInteger(p[k]) && typeof p[k] === 'number' && /whole|integer/.test(err.message));
        throw new AppError(err.kind, `--param ${describePoint(p)}: ${err.message}${range ? ` (a range of whole numbers is written ${range}=int:LO..HI)` : ''}`);
      }
      throw err;
    }
  }
}

/** Starts a new sweep and runs it to its end (or cancel); resolves with its document. */
export async function runSweep(services: Services, req: SweepRequest, ev: SweepEvents): Promise<SweepDoc> {
  const db = services.db;
  const source = req.configSource ?? 'config';
  const space = req.params.map(parseParam);
  checkSpace(space);
  const method = req.method ?? 'grid';
  const metric = req.metric ?? 'valLoss';
  const seed = req.seed ?? 0;
  const base = baseConfigOf(req.config, source);
  const ds = resolveDataset(db, req.dataset);
  if (listUsableImages(db, ds.id, { split: 'val' }).length === 0) {
    throw new AppError('input', `dataset '${ds.name}' has no usable images in its validation split: the sweep's metric (${metric}) is measured there (give it one: \`mixup-studio index DIR --val-fraction 0.2\`, or a val/ folder)`);
  }
  const root = createRng(`sweep:${seed}`);
  let planned: Point[] = [];
  let trials: number;
  if (method === 'grid') {
    planned = gridPoints(space);
    trials = Math.min(planned.length, req.trials ?? planned.length);
    planned = planned.slice(0, trials);
  } else {
    trials = req.trials ?? DEFAULT_RANDOM_TRIALS;
    if (method === 'random') planned = Array.from({ length: trials }, (_, i) => randomPoint(space, root.fork(`random:${i}`)));
  }
  const warn = (message: string) => ev.emit('train.warning', { message });
  await checkPoints(services, ds.id, base, source, method === 'bayes' ? probePoints(space) : planned, warn, ev.signal);
  if (ev.signal?.aborted) throw cancelled('sweep');
  const hyperband: HyperbandOptions = { eta: req.eta ?? HYPERBAND_DEFAULTS.eta, minEpochs: req.minEpochs ?? HYPERBAND_DEFAULTS.minEpochs };
  const earlyStop = req.earlyStop ?? 'none';
  const parallel = Math.max(1, req.parallel ?? 1);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  if (parallel > cores) throw new AppError('input', `--parallel ${parallel}: this machine has ${cores} cores; run at most ${cores} trials at once`);
  const threads = req.threads ?? (parallel > 1 ? Math.max(1, Math.floor(cores / parallel)) : null);
  const spec: SweepSpec = { method, metric, space, trials, earlyStop, hyperband, seed, parallel, threads, backend: req.backend, configSource: source };
  const id = createSweep(db, { datasetId: ds.id, datasetName: ds.name, spec, baseConfig: base, pid: process.pid });
  planned.forEach((p, i) => addTrial(db, id, i, p));
  ev.onCreated?.(id);
  if (parallel > 1) warn(`sweep ${id}: ${parallel} trials at once, ${threads} thread${threads === 1 ? '' : 's'} each`);
  return driveSweep(services, id, ev);
}

/** Continues an interrupted or cancelled sweep: finished trials are kept, not re-run. */
export async function resumeSweep(services: Services, id: number | string, ev: SweepEvents): Promise<SweepDoc> {
  const s = getSweep(services.db, id);
  if (s.status === 'running') throw new AppError('conflict', `sweep ${s.id} is already running (pid ${s.pid ?? 'unknown'})`);
  if (s.status === 'completed') throw new AppError('conflict', `sweep ${s.id} already completed; nothing to resume`);
  if (s.datasetId === null) throw new AppError('not-found', `sweep ${s.id}: its dataset '${s.datasetName}' was removed`);
  ev.onCreated?.(s.id);
  return driveSweep(services, s.id, ev);
}

interface Slot {
  session: import('../training/host').TrainingSession | null;
}

/** Runs the sweep's remaining trials under its lock; the sweep's row ends completed, cancelled or failed. */
async function driveSweep(services: Services, id: number, ev: SweepEvents): Promise<SweepDoc> {
  const db = services.db;
  const lock: FileLock | null = acquireFileLock(sweepLockPath(services.paths.runs, id), 'sweep lock');
  if (!lock) throw new AppError('conflict', `sweep ${id} is already running`);
  const { TrainingSession } = await import('../training/host');
  const { prepareNewRun, prepareResume } = await import('../training/prepare-run');
  const s0 = getSweep(db, id);
  const spec = s0.spec;
  const base = s0.baseConfig;
  const sign = lowerIsBetter(spec.metric) ? 1 : -1;
  claimSweep(db, id, process.pid);
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  ev.signal?.addEventListener('abort', onAbort, { once: true });
  if (ev.signal?.aborted) abort.abort();
  const poll = setInterval(() => {
    try {
      if (cancelRequested(db, id)) abort.abort();
    } catch {
      /* a failing read is the trial's to report */
    }
  }, 250);
  const rungList = (epochs: number) => (spec.earlyStop === 'hyperband' ? rungs(epochs, spec.hyperband) : []);
  const said = new Set<string>();
  const emit: EmitTrainEvent = (topic, data) => {
    if (topic === 'train.warning') {
      const m = (data as { message: string }).message;
      if (said.has(m)) return;
      said.add(m);
    }
    ev.emit(topic, data as never);
  };
  const trialsNow = () => getSweep(db, id).trials;
  const column = epochColumn(spec.metric);
  const series = (runId: number | null) => (runId === null ? [] : (findRunEpochs(db, runId)?.epochs ?? []).map((e) => (e[column] === null ? null : sign * (e[column] as number))));
  const progress = () => {
    const t = trialsNow();
    const done = t.filter((x) => ['completed', 'stopped', 'failed'].includes(x.status)).length;
    ev.emit('sweep.progress', { sweepId: id, done, total: spec.trials, label: `sweep ${id}: ${done}/${spec.trials} trials` });
  };
  const stoppedAt = new Map<number, number>();
  // Which trials to (re)start: those not finished; a trial that was running resumes its run where it can.
  const queue: TrialRow[] = trialsNow().filter((t) => !['completed', 'stopped', 'failed'].includes(t.status));
  let nextNew = trialsNow().length;
  let failure: Error | null = null;
  const pending = new Map<number, Point>();
  const died: number[] = [];

  const nextTrial = (): TrialRow | null => {
    if (abort.signal.aborted || failure) return null;
    const q = queue.shift();
    if (q) return q;
    if (spec.method !== 'bayes' || nextNew >= spec.trials) return null;
    const index = nextNew++;
    const done = trialsNow().filter((t) => t.status === 'completed' || t.status === 'stopped');
    const observed: Observation[] = [];
    for (const t of done) {
      const run = t.runId !== null ? findRunEpochs(db, t.runId) : null;
      const v = spec.metric === 'eceCalibrated' ? (run?.metrics.calibration?.val.eceCalibrated ?? null) : (run?.metrics[spec.metric] ?? null);
      if (v !== null && v !== undefined) observed.push({ point: t.params, value: sign * v });
    }
    const point = suggestPoint(spec.space, observed, [...pending.values()], createRng(`sweep:${spec.seed}`).fork(`bayes:${index}`));
    addTrial(db, id, index, point);
    return { index, params: point, runId: null, status: 'pending', stoppedAt: null, seconds: null, trainSeconds: null, error: null };
  };

  const runOne = async (slot: Slot, t: TrialRow): Promise<void> => {
    const t0 = Date.now();
    pending.set(t.index, t.params);
    let runId = t.runId;
    let resume = false;
    try {
      if (runId !== null) {
        const run = findRunEpochs(db, runId);
        if (run?.status === 'completed') {
          finishTrial(db, id, t.index, { status: 'completed', seconds: t.seconds, trainSeconds: run.epochs.reduce((a, e) => a + e.seconds, 0) });
          return;
        }
        if (run) {
          // A trial's worker outlives a killed sweep by a moment (it stops at its next batch): wait for it.
          for (let i = 0; i < 50 && getRun(db, runId).status === 'running'; i++) await new Promise((r) => setTimeout(r, 200));
          prepareResume(db, { run: runId });
          resume = true;
        } else runId = null;
      }
      if (runId === null) {
        runId = await prepareNewRun(services, { dataset: s0.datasetId!, config: applyPoint(base, t.params), configSource: `${spec.configSource} (sweep ${id}, trial ${t.index + 1}: ${describePoint(t.params)})` }, (message) => emit('train.warning', { message }));
      }
      startTrial(db, id, t.index, runId);
      ev.emit('sweep.trial', { sweepId: id, index: t.index, runId, params: t.params, status: 'running' });
      if (!slot.session || !slot.session.alive) slot.session = new TrainingSession(ev.transport?.());
      const session = slot.session;
      if (!resume && session.pid !== undefined) handOverRun(db, runId, process.pid, session.pid);
      const epochs = getRun(db, runId).epochsPlanned;
      const trialAbort = new AbortController();
      const relay = () => trialAbort.abort();
      abort.signal.addEventListener('abort', relay, { once: true });
      if (abort.signal.aborted) relay();
      let status;
      try {
        status = await session.run(
          { home: services.home, runId, backend: spec.backend, threads: spec.threads ?? undefined, resume, gateEpochs: rungList(epochs) },
          {
            emit,
            signal: trialAbort.signal,
            gate: (rid, done) => {
              const peers = trialsNow()
                .filter((x) => x.index !== t.index && x.runId !== null)
                .map((x) => series(x.runId));
              const stop = stopsAtRung(series(rid), peers, done, spec.hyperband);
              if (stop) stoppedAt.set(t.index, done);
              return !stop;
            },
          },
        );
      } finally {
        abort.signal.removeEventListener('abort', relay);
      }
      const run = getRun(db, runId);
      const trainSeconds = run.epochs.reduce((a, e) => a + e.seconds, 0);
      const seconds = (Date.now() - t0) / 1000 + (resume ? (t.seconds ?? 0) : 0);
      if (status === 'completed') finishTrial(db, id, t.index, { status: 'completed', seconds, trainSeconds });
      // Stopped at a rung (the gate said so), even if a cancel came right after: the decision stands.
      else if (status === 'cancelled' && stoppedAt.has(t.index) && run.epochs.length === stoppedAt.get(t.index)) finishTrial(db, id, t.index, { status: 'stopped', stoppedAt: stoppedAt.get(t.index), seconds, trainSeconds });
      else if (status === 'cancelled') finishTrial(db, id, t.index, { status: 'cancelled', seconds, trainSeconds });
      else {
        // The training process died (killed, out of memory): the run is resumable, so is the trial (`sweep resume`).
        died.push(t.index + 1);
        finishTrial(db, id, t.index, { status: 'cancelled', seconds, trainSeconds, error: `run ${runId} was interrupted: its training process died; \`sweep resume ${id}\` continues it` });
      }
      ev.emit('sweep.trial', { sweepId: id, index: t.index, runId, params: t.params, status: getSweep(db, id).trials[t.index]?.status ?? status });
    } catch (caught) {
      const err = (services.classify?.(caught) ?? caught) as Error;
      if (services.damage) {
        failure = services.damage;
        return;
      }
      // One trial's failure (diverged, out of memory) is that trial's; the sweep goes on with the others.
      finishTrial(db, id, t.index, { status: 'failed', seconds: (Date.now() - t0) / 1000, error: err.message });
      emit('train.warning', { message: `sweep ${id}, trial ${t.index + 1} (${describePoint(t.params)}) failed: ${err.message}` });
      ev.emit('sweep.trial', { sweepId: id, index: t.index, runId, params: t.params, status: 'failed' });
    } finally {
      pending.delete(t.index);
      progress();
    }
  };

  const slots: Slot[] = Array.from({ length: spec.parallel }, () => ({ session: null }));
  try {
    progress();
    // A slot that fails outside a trial (the database, the GP) stops the others too: nothing trains after the
    // sweep has ended and let go of its lock.
    await Promise.allSettled(
      slots.map(async (slot) => {
        try {
          for (let t = nextTrial(); t; t = nextTrial()) await runOne(slot, t);
        } catch (err) {
          failure ??= err as Error;
          abort.abort();
        }
      }),
    );
    await Promise.all(slots.map((s) => s.session?.close()));
    if (failure) throw failure;
    const now = trialsNow();
    const unfinished = now.some((t) => t.status === 'cancelled' || t.status === 'pending');
    if (died.length && !abort.signal.aborted) {
      finishSweep(db, id, 'failed', `the training process of trial${died.length > 1 ? 's' : ''} ${died.join(', ')} died; \`sweep resume ${id}\` continues ${died.length > 1 ? 'them' : 'it'}`);
    } else if (abort.signal.aborted || unfinished) finishSweep(db, id, 'cancelled');
    else if (!now.some((t) => t.status === 'completed')) {
      const first = now.find((t) => t.error)?.error;
      finishSweep(db, id, 'failed', `no trial completed${first ? ` (trial ${now.find((t) => t.error)!.index + 1}: ${first})` : ''}`);
    } else finishSweep(db, id, 'completed');
  } catch (caught) {
    const err = (services.classify?.(caught) ?? caught) as Error;
    await Promise.all(slots.map((s) => s.session?.close(2000)));
    if (!services.damage) {
      try {
        finishSweep(db, id, 'failed', err.message);
      } catch {
        /* the row reads as interrupted once this process is gone */
      }
    }
    throw err;
  } finally {
    clearInterval(poll);
    ev.signal?.removeEventListener('abort', onAbort);
    lock.release();
  }
  return sweepDoc(db, getSweep(db, id));
}

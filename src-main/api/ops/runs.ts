/**
 * Training runs: `runs:train` (a new run, or `resume` of an interrupted one, trained in a child process),
 * `runs:list`, `runs:show`, `runs:cancel`, and `bench:train`.
 */
import { z } from 'zod';
import { defineOp } from '../contract';
import type { EventMap } from '../events';
import { backendName, datasetRef, runRef } from '../refs';
import { AppError } from '../../core/errors';
import { ARCHS } from '../../config/model-spec';
import type { EpochRow, RunInfo, RunMetrics, RunStatus } from '../../training/runs-repository';


/** One line of `runs:list`. */
export interface RunListItem {
  id: number;
  dataset: string;
  /** null once the dataset has been deleted (the run keeps its name). */
  datasetId: number | null;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  backend: string | null;
  arch: string | null;
  epochs: number;
  metrics: RunMetrics;
  /** The sweep this run is a trial of (its trial index, 0-based), or null. */
  sweep: { id: number; trial: number } | null;
  /** What the user wrote on it (`runs label`). */
  name: string | null;
  tags: string[];
  note: string | null;
  /** The config at a glance, for the table's columns. */
  summary: RunSummary;
  /** Why it failed, or that early stopping ended it. */
  error: string | null;
}

export interface RunSummary {
  alpha: number | null;
  cutmixAlpha: number | null;
  offEpoch: number | null;
  backbone: string | null;
  /** Pairs of the policy snapshot the run trained with: forbidden (weight 0) and down-weighted (0 < w < 1). */
  forbidden: number;
  weighted: number;
}

export function runSummary(config: Record<string, unknown>): RunSummary {
  const c = config as { mixup?: { alpha?: number; cutmixAlpha?: number; offEpoch?: number | null }; model?: { backbone?: string | null }; policy?: { pairs?: { weight: number }[] } | null };
  const pairs = c.policy?.pairs ?? [];
  return {
    alpha: c.mixup?.alpha ?? null,
    cutmixAlpha: c.mixup?.cutmixAlpha ?? null,
    offEpoch: c.mixup?.offEpoch ?? null,
    backbone: c.model?.backbone ?? null,
    forbidden: pairs.filter((p) => p.weight === 0).length,
    weighted: pairs.filter((p) => p.weight > 0 && p.weight < 1).length,
  };
}

export interface TrainDoc {
  run: { id: number };
  status: RunInfo['status'];
  backend: string | null;
  device: string | null;
  dataset: string;
  /** Per epoch: the row without its per-class detail (that is in `runs show`), MixUp as CLI.md names it. */
  epochs: Array<Omit<EpochRow, 'perClassAccuracy' | 'confusion' | 'mixup' | 'manifold'> & { mixup: { active: boolean; alpha: number; prob: number } }>;
  metrics: Omit<RunInfo['metrics'], 'calibration'>;
  test?: RunInfo['test'];
  modelDir: string | null;
  error?: string | null;
  /** A run on a frozen backbone: its embeddings computed by this run, and those the store already held. */
  embeddings?: { computed: number; cached: number };
}

/** The metrics without the calibration's detail (its reliability bins: `runs show`'s), keeping T and the scaled ECE. */
export function withoutCalibrationDetail(m: RunMetrics): Omit<RunMetrics, 'calibration'> {
  const { calibration: _c, ...rest } = m;
  return rest;
}

export function trainDoc(run: RunInfo): TrainDoc {
  const doc: TrainDoc = {
    run: { id: run.id },
    status: run.status,
    backend: run.backend,
    device: run.device,
    dataset: run.datasetName,
    epochs: run.epochs.map((e) => ({
      epoch: e.epoch,
      trainLoss: e.trainLoss,
      valLoss: e.valLoss,
      valAccuracy: e.valAccuracy,
      ece: e.ece,
      nll: e.nll,
      lr: e.lr,
      mixup: e.mixup,
      seconds: e.seconds,
    })),
    metrics: withoutCalibrationDetail(run.metrics),
    modelDir: run.status === 'completed' ? run.modelDir : null,
  };
  if (run.test) doc.test = run.test;
  if (run.error) doc.error = run.error;
  return doc;
}

export const runsOps = [
  defineOp({
    name: 'runs:train',
    summary: 'Trains a classifier on a dataset with a run config (or resumes an interrupted run) and waits for it to end',
    input: z.strictObject({
      dataset: datasetRef.optional(),
      config: z.unknown().optional(),
      /** Where the config came from (a file name), for error messages. */
      configSource: z.string().optional(),
      backend: backendName.optional(),
      threads: z.number().int().min(1).max(64).optional(),
      resume: runRef.optional(),
    }),
    async run(ctx, input) {
      const db = ctx.services.db;
      const repo = await import('../../training/runs-repository');
      const { runInWorker } = await import('../../training/host');
      const { prepareNewRun, prepareResume } = await import('../../training/prepare-run');
      const resume = input.resume !== undefined;
      const runId =
        input.resume !== undefined
          ? prepareResume(db, { run: input.resume, dataset: input.dataset, config: input.config })
          : await prepareNewRun(ctx.services, input, (message) => ctx.emit('train.warning', { message }));
      ctx.emit('run.status', { runId, status: 'starting' });
      let final: Awaited<ReturnType<typeof runInWorker>>;
      let workerPid: number | undefined;
      let embeddings: TrainDoc['embeddings'];
      const isNew = !resume;
      try {
        final = await runInWorker(
          { home: ctx.services.home, runId, backend: input.backend, threads: input.threads, resume },
          {
            transport: ctx.trainingTransport?.(),
            // The run's topics are EventMap's own (EventMap extends TrainEventMap); TypeScript cannot see it through T.
            emit: (topic, data) => {
              if (topic === 'train.embeddings') {
                const e = data as EventMap['train.embeddings'];
                embeddings = { computed: e.computed, cached: e.cached };
              }
              ctx.emit(topic, data as EventMap[typeof topic]);
            },
            signal: ctx.signal,
            onStart: (t) => {
              workerPid = t.pid;
              // A new run stands on this process until its worker claims it; from now on on the worker.
              if (isNew && workerPid !== undefined) repo.handOverRun(db, runId, process.pid, workerPid);
            },
          },
        );
      } catch (caught) {
        // Damage the worker met: the home is marked damaged here too, and nothing more is written over it.
        const err = ctx.services.classify?.(caught) ?? caught;
        if (ctx.services.damage) throw err;
        // The worker records its own failures. When it could not (it never started, or the database refused the
        // write), the row is ended here, but only while it is still this call's: the run's new row on this
        // process, or the row this call's worker claimed. A worker that lost the claim leaves the winner's row.
        try {
          repo.failIfHeldBy(db, runId, [isNew ? process.pid : null, workerPid], (err as Error).message);
        } catch {
          /* the database refuses writes too: the row reads as interrupted once its processes are gone */
        }
        throw err;
      }
      if (final === 'interrupted') repo.markInterruptedIfRunning(db, runId, workerPid ?? null);
      const doc = trainDoc(repo.getRun(db, runId));
      if (embeddings) doc.embeddings = embeddings;
      return doc;
    },
  }),
  defineOp({
    name: 'runs:list',
    summary: 'Every training run, oldest first',
    input: z.strictObject({}),
    async run(ctx) {
      const { listRuns } = await import('../../training/runs-repository');
      const { sweepOfRuns } = await import('../../sweeps/repository');
      const trials = sweepOfRuns(ctx.services.db);
      return listRuns(ctx.services.db).map((r): RunListItem => ({
        id: r.id,
        dataset: r.datasetName,
        datasetId: r.datasetId,
        status: r.status,
        createdAt: r.createdAt,
        finishedAt: r.finishedAt,
        backend: r.backend,
        arch: (r.config as { model?: { arch?: string } }).model?.arch ?? null,
        epochs: r.epochsPlanned,
        // The calibration's detail (its reliability bins) is `runs show`'s; the list keeps the figures.
        metrics: withoutCalibrationDetail(r.metrics),
        sweep: trials.has(r.id) ? { id: trials.get(r.id)!.sweep, trial: trials.get(r.id)!.trial } : null,
        name: r.name,
        tags: r.tags,
        note: r.note,
        summary: runSummary(r.config),
        error: r.error,
      }));
    },
  }),
  defineOp({
    name: 'runs:show',
    summary: 'One run: config, preprocessing, per-epoch metrics, per-class accuracy, confusion matrix, MixUp audit',
    input: z.strictObject({ run: runRef }),
    async run(ctx, input) {
      const { getRun } = await import('../../training/runs-repository');
      const run = getRun(ctx.services.db, input.run);
      return {
        ...trainDoc(run),
        /** With the calibration's detail: temperature, ECE and NLL before/after, the reliability bins. */
        metrics: run.metrics,
        name: run.name,
        tags: run.tags,
        note: run.note,
        createdAt: run.createdAt,
        finishedAt: run.finishedAt,
        datasetId: run.datasetId,
        datasetFingerprint: run.datasetFingerprint,
        classes: run.classes,
        config: run.config,
        preprocessing: run.preprocessing,
        epochsPlanned: run.epochsPlanned,
        perClassAccuracy: run.perClassAccuracy,
        confusion: run.confusion,
        audit: run.audit,
        /** Per-epoch detail (per-class accuracy and confusion of every epoch), for curves in the UI. */
        epochDetail: run.epochs.map((e) => ({ epoch: e.epoch, perClassAccuracy: e.perClassAccuracy ?? null, confusion: e.confusion ?? null })),
        checkpointDir: run.checkpointDir,
        modelDir: run.modelDir,
        pid: run.pid,
      };
    },
  }),
  defineOp({
    name: 'runs:label',
    summary: 'Names a run, adds or removes tags, writes a note (none of it is part of its config); any time, even while it trains',
    input: z.strictObject({
      run: runRef,
      name: z.string().nullable().optional(),
      addTags: z.array(z.string()).optional(),
      removeTags: z.array(z.string()).optional(),
      note: z.string().nullable().optional(),
    }),
    async run(ctx, input) {
      const { labelRun } = await import('../../training/runs-repository');
      const r = labelRun(ctx.services.db, input.run, input);
      return { run: { id: r.id }, name: r.name, tags: r.tags, note: r.note };
    },
  }),
  defineOp({
    name: 'runs:cancel',
    summary: 'Asks a running run to stop at its next batch and waits until it is marked cancelled',
    input: z.strictObject({ run: runRef, waitSeconds: z.number().min(0).max(600).default(60) }),
    async run(ctx, input) {
      const { getRun, markInterruptedIfDead } = await import('../../training/runs-repository');
      const run = getRun(ctx.services.db, input.run);
      // A cancel writes anyway: a run whose process died is stored as what it reads, interrupted.
      if (run.status === 'interrupted') markInterruptedIfDead(ctx.services.db, run.id);
      if (run.status !== 'running' || run.pid === null) {
        throw new AppError('conflict', `run ${run.id} is not running (status ${run.status})`);
      }
      try {
        process.kill(run.pid, 'SIGTERM');
      } catch (err) {
        throw new AppError('io', `cannot signal run ${run.id}'s process ${run.pid}: ${(err as Error).message}`);
      }
      const deadline = Date.now() + input.waitSeconds * 1000;
      let status = getRun(ctx.services.db, run.id).status;
      while (status === 'running' && Date.now() < deadline && !ctx.signal.aborted) {
        await new Promise((r) => setTimeout(r, 200));
        status = getRun(ctx.services.db, run.id).status;
      }
      return { run: { id: run.id }, status };
    },
  }),
  defineOp({
    name: 'bench:train',
    summary: 'Images per second of one training step on synthetic data (28×28×1, 10 classes, Adam, soft targets)',
    input: z.strictObject({
      arch: z.enum(ARCHS).default('cnn-small'),
      batch: z.number().int().min(1).max(4096).default(128),
      steps: z.number().int().min(1).max(100000).default(20),
      backend: backendName.optional(),
      threads: z.number().int().min(1).max(64).optional(),
      profile: z.boolean().default(false),
    }),
    async run(_ctx, input) {
      const { benchTrainStep } = await import('../../training/engine/bench');
      return benchTrainStep({
        arch: input.arch,
        batch: input.batch,
        steps: input.steps,
        backend: input.backend,
        threads: input.threads,
        profile: input.profile,
      });
    },
  }),
];

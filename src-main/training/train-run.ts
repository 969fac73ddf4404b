/**
 * What the training process does for one run: read the run's stored config, load the data, choose the
 * engine, build the model, restore the last checkpoint when resuming, run the epochs (recording each one and
 * checkpointing), save the final model, evaluate the test split and record the final status.
 *
 * Runs inside the training child (./worker.ts); the caller's process only starts it and relays its events.
 */
import { join } from 'node:path';
import { AppError } from '../core/errors';
import { resolveRunConfig, type RunConfig } from '../config/run-config';
import type { Services } from '../core/services';
import { datasetFingerprint, listClasses, listUsableImages, markCorruptIfPresent, resolveDataset, type UsableImage } from '../datasets/repository';
import { createMixer } from '../mixup/mixer';
import { runStreams, type PlannerState } from '../mixup/plan';
import type { Rng } from '../mixup/rng';
import { BatchMaker } from './batches';
import type { BackendName } from './engine/index';
import { hasCheckpoint, loadCheckpoint, removeStaleTemps, restoreWeights, saveCheckpoint, saveModel } from './checkpoint';
import { ImageStore, type DataItem } from './image-store';
import { evaluate, runEpochs, trainableVariables } from './loop';
import { prepareRunData, type RunDataCache } from './run-data';
import { buildNetwork } from './models';
import { Optimizer } from './optim';
import { PIXEL_SCALE, type Preprocessing } from '../config/preprocessing';
import {
  claimRun,
  dropEpochsFrom,
  finishRun,
  getRun,
  heartbeat,
  recordEpoch,
  runningPid,
  setRunEngine,
  type EpochRow,
  type RunStatus,
  type TestMetrics,
} from './runs-repository';
import { acquireFileLock, type FileLock } from '../core/file-lock';
import { runLockPath } from './run-lock';
import type { RunStatusEvent, TrainEvents } from './train-events';

export type { TrainEvents } from './train-events';

export interface TrainRunOptions {
  runId: number;
  backend?: BackendName;
  threads?: number;
  /** Continue from the run's checkpoint (when there is one). */
  resume: boolean;
  /** Epoch counts after which `ev.gate` is asked whether the run goes on (a sweep's early-stopping rungs). */
  gateEpochs?: number[];
  /** Decoded images kept between the runs of one training process (a sweep's trials), see ./run-data.ts. */
  cache?: RunDataCache;
}

export function runFolders(services: Services, runId: number): { dir: string; checkpointDir: string; modelDir: string; lockFile: string } {
  const dir = join(services.paths.runs, String(runId));
  return { dir, checkpointDir: join(dir, 'checkpoint'), modelDir: join(dir, 'model'), lockFile: runLockPath(services.paths.runs, runId) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes run `runId` for this process, atomically: its OS lock first (one holder at a time, dropped by the
 * kernel if this process dies), then the conditional UPDATE of its row. The loser gets AppError 'conflict'
 * ("run N is already running (pid P)") and leaves the row untouched. The winner clears what a killed
 * predecessor left (temp files of the checkpoint and model writers) and holds the lock until it releases it.
 */
export async function claimRunExclusive(services: Services, runId: number, pid = process.pid): Promise<FileLock> {
  const db = services.db;
  const f = runFolders(services, runId);
  const before = runningPid(db, runId);
  const lock = acquireFileLock(f.lockFile, 'run lock');
  if (!lock) {
    // The holder may not have written its pid yet (the row still names nobody, or the dead one before it):
    // give it a moment, for an exact message.
    let holder = runningPid(db, runId);
    for (let i = 0; i < 20 && (holder === null || (holder === before && i < 3)); i++) {
      await sleep(100);
      holder = runningPid(db, runId);
    }
    throw new AppError('conflict', `run ${runId} is already running (pid ${holder ?? 'unknown'})`);
  }
  try {
    claimRun(db, runId, pid);
  } catch (err) {
    lock.release();
    throw err;
  }
  removeStaleTemps(f.checkpointDir);
  removeStaleTemps(f.modelDir);
  return lock;
}

function named(values: Array<number | null>, classes: string[]): Record<string, number | null> {
  return Object.fromEntries(classes.map((c, k) => [c, values[k] ?? null]));
}

/** Trains (or resumes) one run to its end; returns the final status. Never throws for a training failure: records it. */
export async function trainRun(services: Services, opts: TrainRunOptions, ev: TrainEvents): Promise<RunStatus> {
  const db = services.db;
  const { runId } = opts;
  const status = (s: RunStatus, extra: Omit<RunStatusEvent, 'runId' | 'status'> = {}) => ev.emit('run.status', { runId, status: s, ...extra });
  // Outside the try: a run this process could not claim is someone else's, and its row is not ours to end.
  const lock = await claimRunExclusive(services, runId);
  status('running', { pid: process.pid });
  // Damage met by any write of this run (a heartbeat included) stops it like a cancel, at the next batch,
  // and nothing more is written over the damaged file.
  let stoppedEarly: number | null = null;
  const stop = () => ev.cancelled() || services.damage !== undefined || stoppedEarly !== null;
  let hb: NodeJS.Timeout | undefined;
  try {
    hb = setInterval(() => {
      try {
        heartbeat(db, runId);
      } catch (err) {
        // A full or read-only disk: the run lock, not the heartbeat, says this process lives; the writes that
        // matter (epochs, checkpoints) report the failure where it happens. A damaged page is noted (and stops
        // the run): see `stop`.
        services.classify?.(err);
      }
    }, 5000);
    hb.unref();
    const run = getRun(db, runId);
    const config = resolveRunConfig(run.config, `run ${runId} config`) as RunConfig;
    if (run.datasetId === null) throw new AppError('not-found', `run ${runId}: its dataset '${run.datasetName}' was removed`);
    const ds = resolveDataset(db, run.datasetId);
    const classes = listClasses(db, ds.id).map((c) => c.name);
    if (JSON.stringify(classes) !== JSON.stringify(run.classes)) {
      throw new AppError('conflict', `run ${runId}: dataset '${ds.name}' now has classes [${classes.join(', ')}], the run was made with [${run.classes.join(', ')}]`);
    }
    const fp = datasetFingerprint(db, ds.id);
    if (run.datasetFingerprint && fp !== run.datasetFingerprint) {
      ev.emit('train.warning', { runId, message: `dataset '${ds.name}' changed since run ${runId} started (fingerprint differs)` });
    }

    const { initEngine } = await import('./engine/index');
    const engine = await initEngine({ backend: opts.backend, threads: opts.threads });
    for (const w of engine.warnings) ev.emit('train.warning', { runId, message: w });

    const data = await prepareRunData({ services, run, config, datasetId: ds.id, datasetName: ds.name, classes, engine, resume: opts.resume, ev, stop, cache: opts.cache });
    if (data === 'cancelled' || stop()) {
      if (services.damage) throw services.damage;
      finishRun(db, runId, 'cancelled');
      status('cancelled');
      return 'cancelled';
    }
    const { net, pre, evalBatch } = data;
    setRunEngine(db, runId, engine.backend, engine.device, pre);
    ev.emit('train.engine', { runId, backend: engine.backend, device: engine.device });

    const optimizer = new Optimizer(config.optimizer, trainableVariables(net));
    const streams = runStreams(config.seed);
    const mixer = createMixer({ config, classes, policy: config.policy, rng: streams.mixup, inputSize: data.mixInputSize });
    const { checkpointDir, modelDir } = runFolders(services, runId);

    let startEpoch = 0;
    if (opts.resume && hasCheckpoint(checkpointDir)) {
      const ck = loadCheckpoint(checkpointDir);
      restoreWeights(net.model, ck);
      optimizer.restore(ck.optimizer);
      const st = ck.state as { shuffle: ReturnType<Rng['getState']>; augment: ReturnType<Rng['getState']>; mixer: PlannerState };
      streams.shuffle.setState(st.shuffle);
      streams.augment.setState(st.augment);
      mixer.setState(st.mixer);
      startEpoch = ck.epoch;
    }
    dropEpochsFrom(db, runId, startEpoch);

    const trainData = data.train;
    const valData = data.val;
    const batches = Math.ceil(trainData.size / config.batchSize);
    const totalSteps = (config.epochs - startEpoch) * batches;
    const t0 = Date.now();
    let steps = 0;
    // Resumed exactly at a rung (killed or cancelled while its decision was pending): decide before training on.
    if (opts.resume && startEpoch > 0 && startEpoch < config.epochs && ev.gate && opts.gateEpochs?.includes(startEpoch) && !(await ev.gate(startEpoch))) {
      stoppedEarly = startEpoch;
    }
    const outcome = stoppedEarly !== null ? 'cancelled' : await runEpochs(
      {
        net,
        optimizer,
        optimizerConfig: config.optimizer,
        epochs: config.epochs,
        batchSize: config.batchSize,
        evalBatchSize: evalBatch,
        numClasses: classes.length,
        train: trainData,
        val: valData,
        mixer,
        streams,
        startEpoch,
      },
      {
        shouldStop: stop,
        onBatch: (p) => {
          steps += 1;
          const rate = (Date.now() - t0) / 1000 / steps;
          ev.emit('train.progress', {
            runId,
            phase: 'train',
            epoch: p.epoch,
            batch: p.batch,
            batches: p.batches,
            done: p.epoch * batches + p.batch,
            total: config.epochs * batches,
            etaSeconds: rate * (totalSteps - steps),
            trainLoss: p.trainLoss,
            label: `epoch ${p.epoch + 1}/${config.epochs} loss ${p.trainLoss.toFixed(4)}`,
          });
        },
        onEpoch: async (r) => {
          const row: EpochRow = {
            epoch: r.epoch,
            trainLoss: r.trainLoss,
            valLoss: r.val ? r.val.loss : null,
            valAccuracy: r.val ? r.val.accuracy : null,
            ece: r.val ? r.val.ece : null,
            nll: r.val ? r.val.nll : null,
            lr: r.lr,
            mixup: { ...r.schedule, manifold: config.mixup.manifold ? r.mixPoints : undefined },
            seconds: r.seconds,
            perClassAccuracy: r.val ? named(r.val.perClassAccuracy, classes) : undefined,
            confusion: r.val ? r.val.confusion : undefined,
          };
          if (!config.mixup.manifold) delete row.mixup.manifold;
          const audit = mixer.audit(r.epoch);
          recordEpoch(db, runId, row, audit, { valAccuracy: row.valAccuracy, valLoss: row.valLoss, ece: row.ece, nll: row.nll });
          mixer.dropAudit(r.epoch);
          await saveCheckpoint(checkpointDir, net.model, await optimizer.save(), {
            epoch: r.epoch + 1,
            state: { shuffle: streams.shuffle.getState(), augment: streams.augment.getState(), mixer: mixer.getState() },
          });
          const { perClassAccuracy: _p, confusion: _c, ...epochEvent } = row;
          ev.emit('train.epoch', { runId, ...epochEvent });
          const done = r.epoch + 1;
          if (ev.gate && opts.gateEpochs?.includes(done) && done < config.epochs && !(await ev.gate(done))) stoppedEarly = done;
        },
      },
    );
    if (outcome === 'cancelled') {
      if (services.damage) throw services.damage;
      if (stoppedEarly !== null && !ev.cancelled()) {
        // Early stopping (a sweep's rung): the run keeps its epochs and can still be resumed to the end.
        finishRun(db, runId, 'cancelled', { error: `stopped early after epoch ${stoppedEarly} by its sweep's early stopping` });
        status('cancelled');
        return 'cancelled';
      }
      finishRun(db, runId, 'cancelled');
      status('cancelled');
      return 'cancelled';
    }
    await saveModel(net.model, modelDir);
    let testMetrics: TestMetrics | null = null;
    let tested: Awaited<ReturnType<typeof evaluate>> | null = null;
    if (data.test) {
      const m = await evaluate(net, data.test, evalBatch, classes.length);
      tested = m;
      testMetrics = { count: m.count, accuracy: m.accuracy, loss: m.loss, ece: m.ece, nll: m.nll, perClassAccuracy: named(m.perClassAccuracy, classes), confusion: m.confusion };
    }
    // Temperature scaling: fitted on val, measured on test when there is one (./calibration.ts).
    let calibration = null;
    if (valData && valData.size > 0) {
      // The model is saved already: a failure here is a warning, never a failed run.
      try {
        const v = await evaluate(net, valData, evalBatch, classes.length);
        const { calibrate } = await import('./calibration');
        calibration = calibrate(v, tested, classes.length);
        // Not fitted (a small or error-free val split) is recorded with its reason; a fit that ended on a bound is said.
        if (calibration.fitted && calibration.reason) ev.emit('train.warning', { runId, message: `temperature scaling: ${calibration.reason}` });
      } catch (err) {
        ev.emit('train.warning', { runId, message: `temperature scaling failed: ${(err as Error).message}` });
      }
    }
    finishRun(db, runId, 'completed', { test: testMetrics, calibration });
    status('completed');
    return 'completed';
  } catch (caught) {
    // SQLite's damage becomes the one 'corrupt' error naming the file (and marks the home damaged).
    const err = (services.classify?.(caught) ?? caught) as Error;
    if (services.damage) {
      status('failed', { error: services.damage.message });
      throw services.damage;
    }
    const cancelled = err instanceof AppError && err.kind === 'cancelled';
    try {
      finishRun(db, runId, cancelled ? 'cancelled' : 'failed', { error: cancelled ? null : (err as Error).message });
    } catch {
      // The database refused the write too (a full disk): the row stays `running`, and reads as interrupted
      // once this process has exited (its lock is gone); the original error is the one to report.
    }
    status(cancelled ? 'cancelled' : 'failed', cancelled ? {} : { error: (err as Error).message });
    if (cancelled) return 'cancelled';
    throw err;
  } finally {
    if (hb) clearInterval(hb);
    lock.release();
  }
}

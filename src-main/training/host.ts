/**
 * The training host/worker protocol, one module for both ends.
 *
 * Training runs out of the caller's process: the CLI (and `serve`) fork a Node child (`forkTransport`),
 * the Electron app can plug in a utilityProcess through the same `TrainingTransport` interface. The host sends
 * `start` (and `cancel`); the worker streams `event`s (train.progress, train.epoch, run.status, train.warning,
 * train.engine) and ends with `done` (final status) or `error` (an error envelope).
 *
 * A worker also treats SIGTERM and SIGINT as "cancel at the next batch" (`runs cancel RUN` from another
 * process signals the run's pid; Ctrl+C reaches the whole process group), and so the loss of its host: when
 * the IPC channel closes (the host exited, however: even kill -9) it cancels, and exits on its own if that
 * takes more than a few seconds, so no worker outlives its host. A worker that dies without `done` (killed,
 * crashed) leaves its run `running` with its run lock dropped, which the runs repository reports as
 * interrupted.
 */
import { fork } from 'node:child_process';
import { AppError, fromErrorEnvelope, toErrorEnvelope, type ErrorEnvelope } from '../core/errors';
import { workerEntry } from '../core/entries';
import type { BackendName } from './engine/index';
import type { RunStatus } from './runs-repository';
import type { EmitTrainEvent, TrainEventMap, TrainTopic } from './train-events';

export interface WorkerJob {
  home: string;
  runId: number;
  /** Checked by the op's input schema (backendName in api/refs.ts) before the job is made. */
  backend?: BackendName;
  threads?: number;
  resume: boolean;
}

/** One event of the run, as the worker sends it (the topic decides the payload). */
export type WorkerEvent = { [T in TrainTopic]: { type: 'event'; topic: T; data: TrainEventMap[T] } }[TrainTopic];

/** The message for one event (TypeScript cannot see that a topic and its payload stay paired through `T`). */
function workerEvent<T extends TrainTopic>(topic: T, data: TrainEventMap[T]): WorkerEvent {
  return { type: 'event', topic, data } as WorkerEvent;
}

function forward<T extends TrainTopic>(emit: EmitTrainEvent, ev: { topic: T; data: TrainEventMap[T] }): void {
  emit(ev.topic, ev.data);
}

export type HostToWorker = { type: 'start'; job: WorkerJob } | { type: 'cancel' };
export type WorkerToHost =
  | WorkerEvent
  | { type: 'done'; status: RunStatus }
  | { type: 'error'; error: ErrorEnvelope };

/** The host's end of a training process (child_process today, Electron utilityProcess in the app). */
export interface TrainingTransport {
  readonly pid: number | undefined;
  send(msg: HostToWorker): void;
  onMessage(cb: (msg: WorkerToHost) => void): void;
  onExit(cb: (info: { code: number | null; signal: string | null; error?: string }) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

/** The worker's end: how it talks back to the host. */
export interface WorkerPort {
  send(msg: WorkerToHost): Promise<void>;
  onMessage(cb: (msg: HostToWorker) => void): void;
  /** Calls `cb` once the host is gone (its channel closed); a port that cannot tell leaves it out. */
  onHostGone?(cb: () => void): void;
}

/** How long a worker whose host is gone may take to stop at a batch boundary before it exits anyway. */
export const ORPHAN_GRACE_MS = 5000;

export const TRAIN_WORKER = { name: 'train-worker', source: 'training/worker.ts' } as const;

/** Forks the training child (out/main/train-worker.js when built, the .ts source under tests). */
export function forkTransport(): TrainingTransport {
  const entry = workerEntry(TRAIN_WORKER.name, TRAIN_WORKER.source);
  const child = fork(entry.file, [], {
    execArgv: [...entry.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env },
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (msg) => {
      if (child.connected) child.send(msg);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as WorkerToHost)),
    onExit: (cb) => {
      child.on('exit', (code, signal) => cb({ code, signal }));
      // A child that could not start at all never exits: settle on its spawn error too.
      child.on('error', (err) => cb({ code: null, signal: null, error: err.message }));
    },
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
  };
}


export interface RunInWorkerOptions {
  emit: EmitTrainEvent;
  signal?: AbortSignal;
  transport?: TrainingTransport;
  /** Sees the transport once started (tests use it to kill the child). */
  onStart?(transport: TrainingTransport): void;
}

/**
 * Runs one training job in a worker and resolves with the run's final status: `interrupted` when the worker
 * died without finishing. Rejects with the worker's error (rebuilt from its envelope) when the run failed.
 */
export function runInWorker(job: WorkerJob, opts: RunInWorkerOptions): Promise<RunStatus> {
  const t = opts.transport ?? forkTransport();
  opts.onStart?.(t);
  return new Promise<RunStatus>((resolve, reject) => {
    let settled = false;
    let failure: ErrorEnvelope | null = null;
    let status: RunStatus | null = null;
    const onAbort = () => t.send({ type: 'cancel' });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    t.onMessage((msg) => {
      if (msg.type === 'event') forward(opts.emit, msg);
      else if (msg.type === 'done') status = msg.status;
      else if (msg.type === 'error') failure = msg.error;
    });
    t.onExit(({ code, signal, error }) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (failure) reject(fromErrorEnvelope(failure));
      else if (error && !status) reject(new AppError('internal', `the training process could not start: ${error}`));
      else if (status) resolve(status);
      else {
        opts.emit('run.status', { runId: job.runId, status: 'interrupted', exitCode: code, signal });
        resolve('interrupted');
      }
    });
    t.send({ type: 'start', job });
    if (opts.signal?.aborted) onAbort();
  });
}

/** The worker's side: waits for `start`, trains, reports, exits. `exit` ends the process. */
export function serveTrainingWorker(port: WorkerPort, exit: (code: number) => void): void {
  let cancelled = false;
  let started = false;
  const cancel = () => {
    cancelled = true;
  };
  process.on('SIGTERM', cancel);
  process.on('SIGINT', cancel);
  port.onHostGone?.(() => {
    cancel();
    // Nothing can wait for this worker any more: record the cancel if the loop gets there in time, else go
    // (the run then reads as interrupted: its lock dies with the process). Not before `start`: exit at once.
    if (!started) return exit(1);
    setTimeout(() => exit(1), ORPHAN_GRACE_MS).unref();
  });
  port.onMessage((msg) => {
    if (msg.type === 'cancel') cancel();
    if (msg.type !== 'start' || started) return;
    started = true;
    void (async () => {
      const { openServices } = await import('../db/open-home');
      const { trainRun } = await import('./train-run');
      let services: ReturnType<typeof openServices> | undefined;
      let code = 0;
      try {
        services = openServices({ home: msg.job.home });
        const status = await trainRun(
          services,
          { runId: msg.job.runId, backend: msg.job.backend, threads: msg.job.threads, resume: msg.job.resume },
          {
            emit: (topic, data) => void port.send(workerEvent(topic, data)),
            cancelled: () => cancelled,
          },
        );
        await port.send({ type: 'done', status });
      } catch (err) {
        code = 1;
        const env = toErrorEnvelope(err instanceof Error ? err : new AppError('internal', String(err)));
        await port.send({ type: 'error', error: env });
      } finally {
        services?.close();
        exit(code);
      }
    })();
  });
}

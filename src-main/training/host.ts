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
  /** Epoch counts after which the worker asks the host whether the run goes on (`gate` messages). */
  gateEpochs?: number[];
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

export type HostToWorker =
  | { type: 'start'; job: WorkerJob; /** Stay up for another job after this one (a sweep's trials); `close` ends it. */ keepAlive?: boolean }
  | { type: 'cancel' }
  | { type: 'gate'; runId: number; epochs: number; go: boolean }
  | { type: 'close' };
export type WorkerToHost =
  | WorkerEvent
  | { type: 'gate'; runId: number; epochs: number }
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

/** The worker's side: waits for `start`, trains, reports; exits after the job unless it was told to keep alive. */
export function serveTrainingWorker(port: WorkerPort, exit: (code: number) => void): void {
  let cancelled = false;
  let busy = false;
  let closing = false;
  let services: import('../core/services').Services | undefined;
  let cache: import('./run-data').RunDataCache | undefined;
  const gates = new Map<string, (go: boolean) => void>();
  const cancel = () => {
    cancelled = true;
    for (const resolve of gates.values()) resolve(false);
    gates.clear();
  };
  const close = (code: number) => {
    services?.close();
    services = undefined;
    exit(code);
  };
  process.on('SIGTERM', cancel);
  process.on('SIGINT', cancel);
  port.onHostGone?.(() => {
    cancel();
    // Nothing can wait for this worker any more: record the cancel if the loop gets there in time, else go
    // (the run then reads as interrupted: its lock dies with the process). Idle (no job yet, or between a
    // sweep's trials): exit at once.
    if (!busy) return close(1);
    setTimeout(() => close(1), ORPHAN_GRACE_MS).unref();
  });
  port.onMessage((msg) => {
    if (msg.type === 'cancel') return cancel();
    if (msg.type === 'close') {
      closing = true;
      if (!busy) close(0);
      return;
    }
    if (msg.type === 'gate') {
      const key = `${msg.runId}:${msg.epochs}`;
      gates.get(key)?.(msg.go);
      gates.delete(key);
      return;
    }
    if (msg.type !== 'start' || busy || closing) return;
    busy = true;
    cancelled = false;
    const { job } = msg;
    void (async () => {
      const { openServices } = await import('../db/open-home');
      const { trainRun } = await import('./train-run');
      let code = 0;
      try {
        services ??= openServices({ home: job.home });
        if (msg.keepAlive) cache ??= new (await import('./run-data')).RunDataCache();
        const status = await trainRun(
          services,
          { runId: job.runId, backend: job.backend, threads: job.threads, resume: job.resume, gateEpochs: job.gateEpochs, cache },
          {
            emit: (topic, data) => void port.send(workerEvent(topic, data)),
            cancelled: () => cancelled,
            gate: (epochs) =>
              cancelled
                ? Promise.resolve(false)
                : new Promise<boolean>((resolve) => {
                    gates.set(`${job.runId}:${epochs}`, resolve);
                    void port.send({ type: 'gate', runId: job.runId, epochs });
                  }),
          },
        );
        await port.send({ type: 'done', status });
      } catch (err) {
        code = 1;
        const env = toErrorEnvelope(err instanceof Error ? err : new AppError('internal', String(err)));
        await port.send({ type: 'error', error: env });
      } finally {
        busy = false;
        // A sweep's worker waits for its next trial; a damaged home ends it (the next trial gets a fresh one).
        if (!msg.keepAlive || closing || services?.damage) close(code);
      }
    })();
  });
}

export interface TrainingSessionRun {
  emit: EmitTrainEvent;
  signal?: AbortSignal;
  /** Answers the worker's gate after `epochs` epochs of the run: true to go on. */
  gate?(runId: number, epochs: number): boolean | Promise<boolean>;
}

/**
 * One training process that trains job after job (a sweep's trials), keeping its engine, its open database and
 * its decoded images between them. `run` resolves with the run's final status (`interrupted` if the process
 * died: the session is then dead and `run` refuses); `close` lets the process exit.
 */
export class TrainingSession {
  private current: { job: WorkerJob; opts: TrainingSessionRun; resolve(s: RunStatus): void; reject(e: Error): void; status: RunStatus | null; failure: ErrorEnvelope | null } | null = null;
  private dead = false;
  private exited: Promise<void>;

  constructor(private readonly t: TrainingTransport = forkTransport()) {
    let onExit!: () => void;
    this.exited = new Promise<void>((r) => (onExit = r));
    t.onMessage((msg) => {
      const c = this.current;
      if (!c) return;
      if (msg.type === 'event') forward(c.opts.emit, msg);
      else if (msg.type === 'gate') {
        void Promise.resolve(c.opts.gate ? c.opts.gate(msg.runId, msg.epochs) : true).then(
          (go) => t.send({ type: 'gate', runId: msg.runId, epochs: msg.epochs, go }),
          () => t.send({ type: 'gate', runId: msg.runId, epochs: msg.epochs, go: true }),
        );
      } else if (msg.type === 'done') this.settle(() => c.resolve(msg.status));
      else if (msg.type === 'error') this.settle(() => c.reject(fromErrorEnvelope(msg.error)));
    });
    t.onExit(({ code, signal, error }) => {
      this.dead = true;
      onExit();
      const c = this.current;
      if (!c) return;
      this.settle(() => {
        if (error) c.reject(new AppError('internal', `the training process could not start: ${error}`));
        else {
          c.opts.emit('run.status', { runId: c.job.runId, status: 'interrupted', exitCode: code, signal });
          c.resolve('interrupted');
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.t.pid;
  }

  get alive(): boolean {
    return !this.dead;
  }

  private settle(fn: () => void): void {
    const c = this.current;
    this.current = null;
    if (c?.opts.signal) c.opts.signal.removeEventListener('abort', this.onAbort);
    fn();
  }

  private onAbort = () => this.t.send({ type: 'cancel' });

  run(job: WorkerJob, opts: TrainingSessionRun): Promise<RunStatus> {
    if (this.dead) return Promise.reject(new AppError('internal', 'the training process has exited'));
    if (this.current) return Promise.reject(new AppError('conflict', `the training process is busy with run ${this.current.job.runId}`));
    return new Promise<RunStatus>((resolve, reject) => {
      this.current = { job, opts, resolve, reject, status: null, failure: null };
      opts.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.t.send({ type: 'start', job, keepAlive: true });
      if (opts.signal?.aborted) this.onAbort();
    });
  }

  /** Lets the process exit (after its job, if one runs); resolves once it has. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.dead) return;
    this.t.send({ type: 'close' });
    const timer = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([this.exited, timer]);
    if (!this.dead) this.t.kill('SIGKILL');
  }
}

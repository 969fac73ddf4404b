/**
 * Training in the desktop app runs in an Electron `utilityProcess` (a Node process Electron manages, no
 * window), not on the main thread: the same worker entry (out/main/train-worker.js) and the same
 * host/worker protocol as the CLI's forked child (src-main/training/host.ts), over `parentPort` messages.
 */
import type { UtilityProcess } from 'electron';
import { workerEntry } from '../core/entries';
import * as host from '../training/host';
import type { HostToWorker, TrainingTransport, WorkerToHost } from '../training/host';

export interface UtilityProcessModule {
  fork(modulePath: string, args?: string[], options?: Electron.ForkOptions): UtilityProcess;
}

/** Starts one training worker as a utilityProcess and adapts it to the host's transport interface. */
export function utilityProcessTransport(utilityProcess: UtilityProcessModule, env: NodeJS.ProcessEnv = process.env): TrainingTransport {
  const entry = workerEntry(host.TRAIN_WORKER.name, host.TRAIN_WORKER.source);
  const child = utilityProcess.fork(entry.file, [], {
    serviceName: 'MixUp Studio training',
    stdio: 'inherit',
    execArgv: entry.execArgv,
    env: { ...env },
  });
  // Messages sent before the process has spawned are held and delivered once it has.
  let spawned = false;
  let exited = false;
  const queue: HostToWorker[] = [];
  child.once('spawn', () => {
    spawned = true;
    for (const m of queue.splice(0)) child.postMessage(m);
  });
  child.once('exit', () => {
    exited = true;
  });
  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      if (exited) return;
      if (spawned) child.postMessage(msg);
      else queue.push(msg);
    },
    onMessage(cb) {
      child.on('message', (m: unknown) => cb(m as WorkerToHost));
    },
    onExit(cb) {
      child.on('exit', (code: number) => cb({ code, signal: null }));
    },
    kill(signal) {
      if (exited) return;
      if (signal && child.pid !== undefined) {
        try {
          process.kill(child.pid, signal);
          return;
        } catch {
          /* fall back to Electron's own kill */
        }
      }
      child.kill();
    },
  };
}

/** The app's training transport for its core (api/core.ts): every run in a utilityProcess (the CLI and `serve` fork Node children). */
export function utilityProcessTraining(utilityProcess: UtilityProcessModule): () => TrainingTransport {
  return () => utilityProcessTransport(utilityProcess);
}

/**
 * The training child process entry (bundled as out/main/train-worker.js): speaks the ./host.ts protocol over
 * Node's IPC channel. Electron's utilityProcess can run the same entry with a `parentPort` adapter.
 */
import { serveTrainingWorker, type HostToWorker, type WorkerToHost } from './host';

const parentPort = (process as unknown as { parentPort?: { on(e: 'message', cb: (ev: { data: unknown }) => void): void; postMessage(m: unknown): void } }).parentPort;

if (parentPort) {
  serveTrainingWorker(
    {
      send: async (msg: WorkerToHost) => parentPort.postMessage(msg),
      onMessage: (cb) => parentPort.on('message', (ev) => cb(ev.data as HostToWorker)),
    },
    (code) => process.exit(code),
  );
} else if (process.send) {
  serveTrainingWorker(
    {
      send: (msg: WorkerToHost) =>
        new Promise<void>((resolve) => {
          if (!process.connected) return resolve();
          process.send!(msg, undefined, {}, () => resolve());
        }),
      onMessage: (cb) => process.on('message', (m) => cb(m as HostToWorker)),
      // The channel closes when the host exits, even by kill -9: the signal that this worker is orphaned.
      onHostGone: (cb) => process.once('disconnect', cb),
    },
    (code) => {
      if (process.connected) process.disconnect();
      process.exit(code);
    },
  );
} else {
  process.stderr.write('train-worker: start me through the training host (no IPC channel)\n');
  process.exit(2);
}

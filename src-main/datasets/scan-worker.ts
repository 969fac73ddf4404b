/** Worker thread of the scan: reads, hashes and probes a batch of files (synchronous I/O, off the main thread). */
import { parentPort } from 'node:worker_threads';
import { readAndProbe } from './read-file';

parentPort?.on('message', (files: string[]) => {
  try {
    parentPort!.postMessage({ ok: true, result: files.map(readAndProbe) });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message });
  }
});

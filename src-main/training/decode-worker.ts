/**
 * Worker thread of the training data pipeline (bundled as out/main/decode-worker.js): decodes a batch of images
 * with sharp to uint8 pixels at the run's input size, writes each to the disk pixel cache, and returns the pixels
 * (transferred, not copied) or the reason an image failed.
 */
import { parentPort } from 'node:worker_threads';
import { mapLimit } from '../core/map-limit';
import { decodeToCache, type DecodeJob, type DecodeOutcome } from './decode';

/** Two decodes in flight per worker keep libvips busy while the other file is read. */
function handle(jobs: DecodeJob[]): Promise<DecodeOutcome[]> {
  return mapLimit(jobs, 2, decodeToCache);
}

parentPort?.on('message', (jobs: DecodeJob[]) => {
  handle(jobs).then(
    (result) => {
      const transfer = result.flatMap((r) => (r.pixels ? [r.pixels.buffer as ArrayBuffer] : []));
      parentPort!.postMessage({ ok: true, result }, transfer);
    },
    (err) => parentPort!.postMessage({ ok: false, error: (err as Error).message }),
  );
});

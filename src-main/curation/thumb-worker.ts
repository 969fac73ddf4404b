/**
 * Worker thread of the near-duplicate check (bundled as out/main/curation-thumb-worker.js): each image's 16×16
 * grey thumbnail. sharp's cost here is its fixed per-call overhead (~2 ms for a 28×28 PNG on this machine), so
 * the work spreads over one worker per core.
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { mapLimit } from '../core/map-limit';
import { thumbOne, type ThumbJob, type ThumbOutcome } from './thumb-one';

sharp.concurrency(1);
sharp.cache(false);

parentPort?.on('message', (jobs: ThumbJob[]) => {
  mapLimit(jobs, 4, thumbOne).then(
    (result: ThumbOutcome[]) => {
      const transfer = result.flatMap((r) => (r.pixels ? [r.pixels.buffer as ArrayBuffer] : []));
      parentPort!.postMessage({ ok: true, result }, transfer);
    },
    (err) => parentPort!.postMessage({ ok: false, error: (err as Error).message }),
  );
});

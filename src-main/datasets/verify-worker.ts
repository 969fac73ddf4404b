/**
 * Worker thread of the verify pass: decodes each image once with sharp (JPEG at the reduced DCT scale the
 * thumbnail needs) and writes its 128-px WebP thumbnail from that same decode.
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { mapLimit } from '../core/map-limit';
import { verifyOne, type VerifyItem, type VerifyOutcome } from './verify-one';

// Parallelism comes from the pool (one worker per core); one libvips thread per decode avoids oversubscription.
sharp.concurrency(1);
// Every image is decoded once: libvips' operation cache only costs here.
sharp.cache(false);

const IN_FLIGHT = 8;

/** Several decodes in flight per worker: sharp runs them on libuv's threads, this thread only feeds them. */
function handle(items: VerifyItem[]): Promise<VerifyOutcome[]> {
  return mapLimit(items, IN_FLIGHT, verifyOne);
}

parentPort?.on('message', (items: VerifyItem[]) => {
  handle(items).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (err) => parentPort!.postMessage({ ok: false, error: (err as Error).message }),
  );
});

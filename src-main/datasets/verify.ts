/**
 * The verify pass: decodes every scanned, not yet verified image once, off the main thread, and writes
 * its thumbnail from that decode. Resumable (only unverified images are taken; each batch is committed),
 * with progress; an image that fails to decode becomes corrupt with the decoder's reason. A file that cannot
 * be read (EACCES, EIO, gone) is no verdict on the image: it is reported in `unreadable` and stays
 * unverified, so the next pass tries it again.
 */
import { join } from 'node:path';
import { AppError } from '../core/errors';
import { mapLimit } from '../core/map-limit';
import { workerEntry } from '../core/entries';
import type { Services } from '../core/services';
import { imagePath, resolveDataset } from './repository';
import { defaultWorkers } from './scan-reader';
import { thumbName } from './thumbs';
import { verifyOne, type VerifyItem, type VerifyOutcome } from './verify-one';
import { WorkerPool } from './worker-pool';

export interface VerifyOptions {
  signal?: AbortSignal;
  onProgress?(p: { done: number; total: number; label: string }): void;
  /** Worker threads; default: cores (up to 8). 0 decodes on the calling thread. */
  workers?: number;
  batchSize?: number;
  /** Test hook: after each committed batch. */
  afterBatch?(committed: number): void;
}

export interface VerifyResult {
  verified: number;
  corrupt: { path: string; reason: string }[];
  /** Files this pass could not read (not marked corrupt; the next pass tries them again). */
  unreadable: { path: string; reason: string }[];
  seconds: number;
}

export async function verifyDataset(services: Services, dataset: string | number, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const started = performance.now();
  const { db } = services;
  const ds = resolveDataset(db, dataset);
  const rows = db
    .prepare("SELECT id, rel_path, hash FROM images WHERE dataset_id = ? AND verified = 0 AND status = 'ok' ORDER BY id")
    .raw()
    .all(ds.id) as [number, string, string][];
  const total = rows.length;
  const relById = new Map<number, string>();
  const items: VerifyItem[] = rows.map(([id, rel, hash]) => {
    relById.set(id, rel);
    return { id, file: imagePath(ds.root, rel), thumbFile: join(services.paths.thumbs, thumbName(hash)) };
  });
  const workers = opts.workers ?? defaultWorkers();
  const batchSize = opts.batchSize ?? 32;
  const pool =
    workers > 0 && total > 8 ? new WorkerPool<VerifyItem[], VerifyOutcome[]>(workerEntry('verify-worker', 'datasets/verify-worker.ts'), workers) : undefined;
  const hashes = new Map(rows.map(([id, , hash]) => [id, hash]));
  const markOk = db.prepare('UPDATE images SET verified = 1, thumb = ? WHERE id = ?');
  const markBad = db.prepare("UPDATE images SET verified = 1, status = 'corrupt', reason = ?, thumb = NULL WHERE id = ?");
  const commit = db.transaction((outcomes: VerifyOutcome[]) => {
    for (const o of outcomes) {
      if (o.ok) markOk.run(thumbName(hashes.get(o.id)!), o.id);
      else if (!('unreadable' in o)) markBad.run(o.reason, o.id);
    }
  });
  const corrupt: { path: string; reason: string }[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  let done = 0;
  let verified = 0;
  let lastEmit = 0;
  const emit = (force = false) => {
    const now = performance.now();
    if (!force && now - lastEmit < 100) return;
    lastEmit = now;
    opts.onProgress?.({ done, total, label: 'verifying' });
  };
  emit(true);
  const batches: VerifyItem[][] = [];
  for (let i = 0; i < items.length; i += batchSize) batches.push(items.slice(i, i + batchSize));
  try {
    // A failed batch stops the pass (the batches already started still commit); so does a cancel.
    await mapLimit(
      batches,
      pool ? workers * 2 : 1,
      async (batch) => {
        const outcomes = pool ? await pool.run(batch) : await Promise.all(batch.map(verifyOne));
        if (opts.signal?.aborted) return;
        commit(outcomes);
        for (const o of outcomes) {
          if (o.ok) verified++;
          else if ('unreadable' in o) unreadable.push({ path: relById.get(o.id)!, reason: o.reason });
          else corrupt.push({ path: relById.get(o.id)!, reason: o.reason });
        }
        done += outcomes.length;
        opts.afterBatch?.(done);
        emit();
      },
      { signal: opts.signal, what: 'verify' },
    );
  } catch (err) {
    // What verified so far is committed; a failure that is not a decode failure (disk full, a thumbnail
    // folder that cannot be written) stops the pass without marking any image corrupt.
    throw err instanceof AppError ? err : new AppError('io', `verify of '${ds.name}' stopped: ${(err as Error).message}`);
  } finally {
    await pool?.close();
  }
  emit(true);
  corrupt.sort((a, b) => (a.path < b.path ? -1 : 1));
  unreadable.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { verified, corrupt, unreadable, seconds: Math.round((performance.now() - started) / 10) / 100 };
}

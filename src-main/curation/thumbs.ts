/**
 * The near-duplicate check's thumbnails: read from the store by content hash and recipe (the embedding pass
 * writes most of them), the missing ones decoded (in a
 * pool of worker threads, one per core, past a few dozen) and stored, batch by batch, so a cancelled pass
 * keeps what it made and the next one decodes only the rest.
 */
import { throwIfCancelled } from '../core/errors';
import { workerEntry } from '../core/entries';
import { mapLimit } from '../core/map-limit';
import type { Db } from '../db/connection';
import { defaultWorkers } from '../datasets/scan-reader';
import { WorkerPool } from '../datasets/worker-pool';
import { recipeKey, thumbOne, type ThumbJob, type ThumbOutcome, type ThumbRecipe } from './thumb-one';
import { cachedThumbs, putThumbs } from './thumb-store';

const BATCH = 64;

export async function thumbnailsFor(
  db: Db,
  recipe: ThumbRecipe,
  files: readonly { hash: string; file: string }[],
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; workers?: number } = {},
): Promise<{ thumbs: Map<string, Uint8Array | null>; computed: number; cached: number }> {
  const key = recipeKey(recipe);
  const thumbs = new Map<string, Uint8Array | null>(cachedThumbs(db, key, files.map((j) => j.hash)));
  const todo: ThumbJob[] = files.filter((j) => !thumbs.has(j.hash)).map((j) => ({ ...j, recipe }));
  const total = files.length;
  let done = thumbs.size;
  opts.onProgress?.(done, total);
  const cachedCount = total - todo.length;
  if (todo.length === 0) return { thumbs, computed: 0, cached: cachedCount };
  const store = (outcomes: ThumbOutcome[]) => {
    for (const o of outcomes) thumbs.set(o.hash, o.pixels);
    putThumbs(db, key, outcomes.filter((o): o is Extract<ThumbOutcome, { pixels: Uint8Array }> => o.pixels !== null));
  };
  const workers = opts.workers ?? defaultWorkers();
  const pool = workers > 0 && todo.length > BATCH ? new WorkerPool<ThumbJob[], ThumbOutcome[]>(workerEntry('curation-thumb-worker', 'curation/thumb-worker.ts'), workers) : undefined;
  const batches: ThumbJob[][] = [];
  for (let i = 0; i < todo.length; i += BATCH) batches.push(todo.slice(i, i + BATCH));
  try {
    await mapLimit(batches, pool ? workers * 2 : 1, async (batch) => {
      throwIfCancelled(opts.signal, 'curation');
      const outcomes = pool ? await pool.run(batch) : await mapLimit(batch, 4, thumbOne);
      // A worker's transferred buffers arrive as plain ArrayBuffer views; keep them as Uint8Array.
      store(outcomes.map((o) => (o.pixels ? { ...o, pixels: new Uint8Array(o.pixels) } : o)));
      done += batch.length;
      opts.onProgress?.(done, total);
    });
  } finally {
    await pool?.close();
  }
  return { thumbs, computed: todo.length, cached: cachedCount };
}

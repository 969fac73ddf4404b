/**
 * The one concurrency limiter: runs `fn` over `items` with at most `limit` calls in flight, and gives the results
 * in the order of the items.
 *
 * Items are taken one at a time, only when a call slot is free, so `items` may be a lazy (async) iterable that
 * does work of its own between items. The first call that fails stops the taking: no item is started after it,
 * the calls already started run to their end, and then `mapLimit` rejects with that first error. An error the
 * iterable throws counts the same. With a `signal`, a fired signal stops the taking likewise and `mapLimit`
 * rejects with `cancelled(what)` once the started calls are done; a signal that fires only after the last item
 * started gives way to a failure.
 */
import { cancelled } from './errors';

export interface MapLimitOptions {
  /** Checked before each item is started, and once more when all are done. */
  signal?: AbortSignal;
  /** Names what a fired signal cancelled (`cancelled(what)`: '<what> cancelled'). */
  what?: string;
}

export async function mapLimit<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number | (() => number),
  fn: (item: T, index: number) => R | Promise<R>,
  opts: MapLimitOptions = {},
): Promise<R[]> {
  const { signal } = opts;
  // A limit read after every start: it may grow while the run goes (a worker pool that starts on demand).
  const cap = typeof limit === 'function' ? () => Math.max(1, limit()) : () => Math.max(1, limit);
  const results: R[] = [];
  const inflight = new Set<Promise<void>>();
  let failed = false;
  let failure: unknown;
  const fail = (err: unknown) => {
    if (failed) return;
    failed = true;
    failure = err;
  };
  let aborted = false;
  const sync = Symbol.iterator in items;
  const it = sync ? (items as Iterable<T>)[Symbol.iterator]() : (items as AsyncIterable<T>)[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (let index = 0; ; index++) {
      if (signal?.aborted) {
        aborted = true;
        break;
      }
      if (failed) break;
      const next = sync ? (it as Iterator<T>).next() : await it.next();
      if (next.done) {
        finished = true;
        break;
      }
      const item = next.value;
      const p: Promise<void> = (async () => {
        results[index] = await fn(item, index);
      })()
        .catch(fail)
        .finally(() => inflight.delete(p));
      inflight.add(p);
      while (inflight.size >= cap()) await Promise.race(inflight);
    }
    // Stopped early: let a generator run its `finally`.
    if (!finished) await it.return?.();
  } catch (err) {
    // The iterable itself threw.
    fail(err);
  }
  while (inflight.size) await Promise.race(inflight);
  if (aborted) throw cancelled(opts.what);
  if (failed) throw failure;
  if (signal?.aborted) throw cancelled(opts.what);
  return results;
}

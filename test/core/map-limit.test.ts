import { describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/core/errors';
import { mapLimit } from '../../src-main/core/map-limit';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('never has more than `limit` calls in flight, and gives results in the order of the items', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([30, 5, 20, 1, 10, 2], 3, async (ms, i) => {
      most = Math.max(most, ++running);
      await tick(ms);
      running--;
      return `${i}:${ms}`;
    });
    expect(most).toBe(3);
    expect(out).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10', '5:2']);
  });

  it('reads a limit given as a function after every start (it may grow)', async () => {
    let limit = 1;
    let running = 0;
    const seen: number[] = [];
    await mapLimit([1, 2, 3, 4, 5, 6], () => limit, async (n) => {
      seen.push(++running);
      if (n === 2) limit = 3;
      await tick(5);
      running--;
    });
    expect(Math.max(...seen)).toBe(3);
  });

  it('starts nothing after the first failure, waits for the started calls, then rejects with that failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const err = await mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('two failed');
      if (n === 3) throw new Error('three failed too');
      await tick(n === 0 ? 40 : 5);
      finished.push(n);
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('two failed');
    // 1 finished and freed the slot 2 took; 2 failed at once, so 3 was never started; 0 still ran to its end.
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([1, 0]);
  });

  it('stops at a fired signal and rejects with cancelled(what) once the started calls are done', async () => {
    const ac = new AbortController();
    const finished: number[] = [];
    const err = await mapLimit(
      [0, 1, 2, 3, 4],
      2,
      async (n) => {
        if (n === 1) ac.abort();
        await tick(10);
        finished.push(n);
      },
      { signal: ac.signal, what: 'verify' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).kind).toBe('cancelled');
    expect((err as AppError).message).toBe('verify cancelled');
    expect(finished.sort()).toEqual([0, 1]);
  });

  it('takes a lazy async iterable one item per free slot, and its error like a failed call', async () => {
    const pulled: number[] = [];
    async function* gen() {
      for (let i = 0; i < 4; i++) {
        pulled.push(i);
        yield i;
      }
      throw new Error('source broke');
    }
    const done: number[] = [];
    const err = await mapLimit(gen(), 1, async (n) => {
      // One slot: the next item is not taken while this call runs.
      expect(pulled).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
      await tick(2);
      done.push(n);
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('source broke');
    expect(done).toEqual([0, 1, 2, 3]);
  });

  it('answers [] for no items', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/core/errors';
import { WorkerPool } from '../../src-main/datasets/worker-pool';

type Req = { echo?: string; delayMs?: number; exit?: number };

const entry = { file: join(__dirname, '..', 'fixtures', 'exit-worker.mjs'), execArgv: [] };
const pools: WorkerPool<Req, string>[] = [];
function pool(size: number): WorkerPool<Req, string> {
  const p = new WorkerPool<Req, string>(entry, size);
  pools.push(p);
  return p;
}

/** Settles within `ms`, or fails the test: a request the pool forgot would otherwise hang until the test timeout. */
function within<T>(p: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms))]);
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('WorkerPool: every request is settled', () => {
  it('answers requests in order of arrival, queueing beyond its size', async () => {
    const p = pool(2);
    const out = await within(Promise.all(['a', 'b', 'c', 'd'].map((echo, i) => p.run({ echo, delayMs: 20 - i * 5 }))));
    expect(out).toEqual(['a', 'b', 'c', 'd']);
  });

  it("rejects the dead worker's request and the queued ones, naming the worker and its exit code, when a worker exits", async () => {
    const p = pool(1);
    const dying = p.run({ exit: 3 });
    const queued = p.run({ echo: 'never' });
    for (const r of [dying, queued]) {
      const err = await within(r).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).kind).toBe('internal');
      expect((err as AppError).message).toMatch(/worker thread exit-worker\.mjs \(thread \d+\) exited unexpectedly with code 3/);
    }
    // The pool is failed: a later request rejects at once with the same error rather than waiting on a dead worker.
    await expect(within(p.run({ echo: 'later' }))).rejects.toThrow(/exited unexpectedly with code 3/);
  });

  it('lets the other workers finish what they hold when one exits', async () => {
    const p = pool(2);
    const slow = p.run({ echo: 'slow', delayMs: 300 });
    const dying = p.run({ exit: 7 });
    await expect(within(dying)).rejects.toThrow(/code 7/);
    await expect(within(slow)).resolves.toBe('slow');
  });

  it('rejects a request still running when the pool is closed', async () => {
    const p = pool(1);
    const running = p.run({ echo: 'late', delayMs: 10_000 }).catch((e: unknown) => e);
    const queued = p.run({ echo: 'queued' }).catch((e: unknown) => e);
    await p.close();
    expect(await within(queued)).toEqual(new Error('worker pool closed'));
    expect(await within(running)).toEqual(new Error('worker pool closed'));
  });
});

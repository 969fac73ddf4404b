/**
 * A small pool of worker threads, each handling one request at a time. Requests queue; results come back
 * as promises. Used by the scan (read + hash + probe batches), the verify pass (decode + thumbnail) and the
 * training's decode. Every request is settled once: by its result, its error, the worker's failure or exit,
 * or the pool's close. A worker that fails or exits on its own fails the pool: its request, the queued ones
 * and every later one reject with that error.
 */
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EntryPoint } from '../core/entries';
import { AppError } from '../core/errors';

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class WorkerPool<Req, Res> {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: { req: Req; p: Pending }[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private closed = false;
  private failure: Error | undefined;

  constructor(
    private readonly entry: EntryPoint,
    readonly size: number,
    private readonly workerData?: unknown,
  ) {}

  private spawn(): Worker {
    // From sources (tests), a worker thread cannot take `--import tsx`: register tsx's require hook first.
    const w = this.entry.file.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(this.entry.file)});`, {
          eval: true,
          workerData: this.workerData,
        })
      : new Worker(this.entry.file, { execArgv: this.entry.execArgv, workerData: this.workerData });
    w.on('message', (msg: { ok: boolean; result?: unknown; error?: string }) => {
      const p = this.busy.get(w);
      this.busy.delete(w);
      if (p) {
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(msg.error));
      }
      this.release(w);
    });
    w.on('error', (err) => {
      this.failure = err;
      this.settle(w, err);
    });
    // Read now: an exited worker's threadId is -1.
    const threadId = w.threadId;
    // Also after 'error' (then that error stands), and for a worker that calls process.exit or is stopped from
    // outside, which emit no 'error': without this its request and the queued ones would wait forever.
    w.on('exit', (code) => {
      if (this.closed) {
        this.busy.get(w)?.reject(new Error('worker pool closed'));
        this.busy.delete(w);
        return;
      }
      const err = new AppError('internal', `worker thread ${basename(this.entry.file)} (thread ${threadId}) exited unexpectedly with code ${code}`);
      this.failure ??= err;
      this.settle(w, err);
    });
    this.all.push(w);
    return w;
  }

  /** `w` failed or is gone: its request and the queued ones reject with `err` (later ones with the pool's failure). */
  private settle(w: Worker, err: Error): void {
    const idle = this.idle.indexOf(w);
    if (idle !== -1) this.idle.splice(idle, 1);
    const p = this.busy.get(w);
    this.busy.delete(w);
    p?.reject(err);
    for (const q of this.queue.splice(0)) q.p.reject(err);
  }

  private release(w: Worker): void {
    const next = this.queue.shift();
    if (next && !this.closed) {
      this.busy.set(w, next.p);
      w.postMessage(next.req);
    } else this.idle.push(w);
  }

  run(req: Req): Promise<Res> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('worker pool closed'));
    return new Promise<Res>((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject };
      let w = this.idle.pop();
      if (!w && this.all.length < this.size) w = this.spawn();
      if (w) {
        this.busy.set(w, p);
        w.postMessage(req);
      } else this.queue.push({ req, p });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.p.reject(new Error('worker pool closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

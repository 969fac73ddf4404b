/**
 * How the scan reads its files: on the calling thread, or in a pool of worker threads (scan-worker.ts), each
 * file once (read-file.ts: a bounded read, the content hash and the header probe).
 */
import { availableParallelism } from 'node:os';
import { workerEntry } from '../core/entries';
import { readAndProbe, type FileReport } from './read-file';
import { WorkerPool } from './worker-pool';

/**
 * Reads files on the calling thread until it is clear the worker pool pays: after `inlineBelow` files, the
 * pool takes over when the files are big enough (`poolMinBytes` on average) for hashing to outweigh the
 * per-file cost of handing work between threads. Small files (thumbnail-sized datasets) stay on one thread,
 * which measured faster here, above all on a busy machine where every hand-off waits for a time slice.
 */
export class ScanReader {
  private pool: WorkerPool<string[], FileReport[]> | undefined;
  private submitted = 0;
  private inlineFiles = 0;
  private inlineBytes = 0;
  constructor(
    private readonly workers: number,
    private readonly inlineBelow = 512,
    private readonly poolMinBytes = 48 * 1024,
  ) {}

  private usePool(): boolean {
    if (this.workers <= 0) return false;
    if (this.pool || this.inlineBelow === 0) return true;
    if (this.submitted <= this.inlineBelow || this.inlineFiles === 0) return false;
    return this.inlineBytes / this.inlineFiles >= this.poolMinBytes;
  }

  async read(files: string[]): Promise<FileReport[]> {
    this.submitted += files.length;
    if (this.usePool()) {
      this.pool ??= new WorkerPool<string[], FileReport[]>(workerEntry('scan-worker', 'datasets/scan-worker.ts'), this.workers);
      return this.pool.run(files);
    }
    await new Promise((r) => setImmediate(r));
    const out = files.map(readAndProbe);
    this.inlineFiles += out.length;
    for (const r of out) this.inlineBytes += r.size;
    return out;
  }

  get concurrency(): number {
    return this.pool ? this.workers * 2 : 2;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

/** Worker threads for reading (the scan) and decoding (the verify pass): the cores, up to 8. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

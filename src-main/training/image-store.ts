/**
 * The decoded pixels of a set of images, built once per run: what the disk pixel cache (./pixel-cache.ts)
 * already has is read back, the rest is decoded (./decode.ts), in a pool of worker threads
 * (./decode-worker.ts) so neither decoding nor its JS-side handling touches the thread that drives the engine;
 * small sets (or `workers: 0`) decode in this thread, where sharp still runs libvips on libuv's pool.
 * The pixels are kept in memory when they fit `memoryBudgetBytes`, else read back per batch from the disk
 * cache, which is always written.
 *
 * What a build leaves out, by cause (the caller reports each): an image that does not decode, or is too large
 * to (a verdict on its content: `onCorrupt`); a file that vanished since the caller listed it, e.g. removed by
 * a rescan while a training starts (`onVanished`); a file that cannot be read this time, EACCES or EIO
 * (`onReadError`: no verdict, the next run tries it again).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { AppError, cancelled } from '../core/errors';
import { mapLimit } from '../core/map-limit';
import { decodeToCache, type DecodeJob, type DecodeOutcome, type LeftOutCause } from './decode';
import { pixelCacheDir, pixelCacheFile, sweepCacheTemps } from './pixel-cache';
import { PIXEL_SCALE } from '../config/preprocessing';

export interface DataItem {
  id: number;
  /** Absolute path of the image file. */
  path: string;
  classIndex: number;
  /** Content hash from the index (cache key); null when unknown. */
  hash?: string | null;
}

export interface StoreOptions {
  inputSize: [number, number];
  channels: 1 | 3;
  /** The home's cache folder; null = no disk cache. */
  cacheDir: string | null;
  memoryBudgetBytes?: number;
  concurrency?: number;
  /** Decode worker threads (default: up to 4, by the cores); 0 = decode in this thread. */
  workers?: number;
  /** Asked before each image and once at the end: true stops the build with a 'training cancelled' error. */
  cancelled?: () => boolean;
  onProgress?(done: number, total: number): void;
  /** Called for an image that fails to decode (or is too large to); it is left out of the store. */
  onCorrupt?(item: DataItem, reason: string): void;
  /** Called for an image whose file is gone (ENOENT); it is left out of the store. */
  onVanished?(item: DataItem, reason: string): void;
  /** Called for an image whose file cannot be read now (EACCES, EIO...); it is left out, and is not corrupt. */
  onReadError?(item: DataItem, reason: string): void;
  /** Called once when pixel cache files cannot be written while the pixels stay in memory (the run goes on). */
  onWarning?(message: string): void;
}

/**
 * The decoded pixels of a set of images. `items` keeps only the images that decoded; `index(item id)`
 * addresses them.
 */
export class ImageStore {
  readonly items: DataItem[] = [];
  readonly pixelsPerImage: number;
  private memory: Uint8Array | null = null;
  private readonly files: string[] = [];
  private readonly pos = new Map<number, number>();
  readonly inMemory: boolean;
  /** How many images were decoded now (the rest came from the disk cache). */
  decoded = 0;
  /** How many images were left out, by cause. */
  readonly leftOut: Record<LeftOutCause, number> = { corrupt: 0, vanished: 0, unreadable: 0 };

  private constructor(
    readonly inputSize: [number, number],
    readonly channels: 1 | 3,
    inMemory: boolean,
  ) {
    this.pixelsPerImage = inputSize[0] * inputSize[1] * channels;
    this.inMemory = inMemory;
  }

  static async build(all: DataItem[], opts: StoreOptions): Promise<ImageStore> {
    const per = opts.inputSize[0] * opts.inputSize[1] * opts.channels;
    const budget = opts.memoryBudgetBytes ?? 1024 * 1024 * 1024;
    const inMemory = per * all.length <= budget || opts.cacheDir === null;
    const store = new ImageStore(opts.inputSize, opts.channels, inMemory);
    const dir = opts.cacheDir ? pixelCacheDir(opts.cacheDir, opts.inputSize, opts.channels) : null;
    if (dir) sweepCacheTemps(dir);
    const results: Array<Uint8Array | null> = new Array(all.length).fill(null);
    const files: string[] = new Array(all.length).fill('');
    const failed: string[] = new Array(all.length).fill('');
    const causes: LeftOutCause[] = new Array(all.length).fill('corrupt');
    let cacheErrors = 0;
    let done = 0;
    const concurrency = Math.max(1, opts.concurrency ?? 4);
    const keep = (i: number, px: Uint8Array | null) => {
      results[i] = inMemory ? px : px ? new Uint8Array(0) : null;
      done += 1;
      opts.onProgress?.(done, all.length);
    };
    // 1. What the disk cache already has.
    const missing: number[] = [];
    const stopIfCancelled = () => {
      if (opts.cancelled?.()) throw cancelled('training');
    };
    await mapLimit(all.keys(), concurrency, async (i) => {
      stopIfCancelled();
      const file = dir ? pixelCacheFile(dir, all[i]) : '';
      files[i] = file;
      let px: Uint8Array | null = null;
      if (file) {
        try {
          const buf = await readFile(file);
          if (buf.length === per) px = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
        } catch {
          px = null;
        }
      }
      if (px) keep(i, px);
      else missing.push(i);
    });
    missing.sort((a, b) => a - b);
    // 2. Decode the rest: in worker threads when there are enough, else here.
    const job = (i: number): DecodeJob => ({ path: all[i].path, cacheFile: files[i], inputSize: opts.inputSize, channels: opts.channels });
    const settle = (i: number, r: DecodeOutcome) => {
      if (r.pixels && r.cacheError) {
        // Pixels read back from the disk cache need their file; pixels kept in memory do not.
        if (!inMemory) throw new AppError('io', `cannot write the pixel cache file ${files[i]}: ${r.cacheError}`);
        if (cacheErrors++ === 0) {
          opts.onWarning?.(`cannot write the pixel cache file ${files[i]}: ${r.cacheError}; this run keeps its pixels in memory, a later one decodes again`);
        }
      }
      if (r.pixels) {
        store.decoded += 1;
        keep(i, r.pixels);
      } else {
        failed[i] = r.error ?? 'failed to decode';
        causes[i] = r.cause ?? 'corrupt';
        keep(i, null);
      }
    };
    const workers = Math.min(opts.workers ?? Math.min(4, availableParallelism()), Math.ceil(missing.length / 16));
    if (workers > 0 && missing.length >= 32) {
      const { WorkerPool } = await import('../datasets/worker-pool');
      const { workerEntry } = await import('../core/entries');
      const pool = new WorkerPool<DecodeJob[], DecodeOutcome[]>(workerEntry('decode-worker', 'training/decode-worker.ts'), workers);
      try {
        const chunks: number[][] = [];
        for (let k = 0; k < missing.length; k += 32) chunks.push(missing.slice(k, k + 32));
        // Two chunks per worker in flight: each worker has its next one queued, and a cancel stops the rest.
        await mapLimit(chunks, workers * 2, async (chunk) => {
          stopIfCancelled();
          const res = await pool.run(chunk.map(job));
          chunk.forEach((i, j) => settle(i, res[j]));
        });
      } finally {
        await pool.close();
      }
    } else {
      await mapLimit(missing, concurrency, async (i) => {
        stopIfCancelled();
        settle(i, await decodeToCache(job(i)));
      });
    }
    stopIfCancelled();
    let count = 0;
    for (let i = 0; i < all.length; i++) if (results[i]) count += 1;
    if (inMemory) store.memory = new Uint8Array(count * per);
    let k = 0;
    for (let i = 0; i < all.length; i++) {
      const px = results[i];
      if (!px) {
        const reason = failed[i] || 'failed to decode';
        store.leftOut[causes[i]] += 1;
        if (causes[i] === 'vanished') opts.onVanished?.(all[i], reason);
        else if (causes[i] === 'unreadable') opts.onReadError?.(all[i], reason);
        else opts.onCorrupt?.(all[i], reason);
        continue;
      }
      store.pos.set(all[i].id, k);
      store.items.push(all[i]);
      store.files.push(files[i]);
      if (store.memory) store.memory.set(px, k * per);
      k += 1;
    }
    return store;
  }

  /** A view on some of the stored images (sharing the pixels), in store order. */
  subset(keep: (item: DataItem) => boolean): ImageStore {
    const out = new ImageStore(this.inputSize, this.channels, this.inMemory);
    const per = this.pixelsPerImage;
    const ks: number[] = [];
    this.items.forEach((it, k) => {
      if (keep(it)) ks.push(k);
    });
    if (this.memory) {
      out.memory = new Uint8Array(ks.length * per);
      ks.forEach((k, j) => out.memory!.set(this.memory!.subarray(k * per, (k + 1) * per), j * per));
    }
    ks.forEach((k, j) => {
      out.items.push(this.items[k]);
      out.files.push(this.files[k]);
      out.pos.set(this.items[k].id, j);
    });
    return out;
  }

  /** Pixels of the k-th stored image (memory, or read back from the disk cache). */
  async pixels(k: number): Promise<Uint8Array> {
    if (this.memory) return this.memory.subarray(k * this.pixelsPerImage, (k + 1) * this.pixelsPerImage);
    const buf = await readFile(this.files[k]);
    if (buf.length !== this.pixelsPerImage) {
      throw new AppError('io', `pixel cache ${this.files[k]} has ${buf.length} bytes, expected ${this.pixelsPerImage}`);
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }

  /** Per-channel mean and std of `pixel * scale` over every stored image (two passes, float64). */
  async channelStats(): Promise<{ mean: number[]; std: number[] }> {
    const c = this.channels;
    const sum = new Float64Array(c);
    const sq = new Float64Array(c);
    let n = 0;
    for (let k = 0; k < this.items.length; k++) {
      const px = await this.pixels(k);
      for (let i = 0; i < px.length; i++) {
        const v = px[i] * PIXEL_SCALE;
        sum[i % c] += v;
        sq[i % c] += v * v;
      }
      n += px.length / c;
    }
    const mean: number[] = [];
    const std: number[] = [];
    for (let ch = 0; ch < c; ch++) {
      const m = n > 0 ? sum[ch] / n : 0;
      const v = n > 0 ? Math.max(0, sq[ch] / n - m * m) : 1;
      mean.push(m);
      std.push(Math.sqrt(v) > 1e-6 ? Math.sqrt(v) : 1);
    }
    return { mean, std };
  }
}

/**
 * The data pipeline: decode (sharp) → resize to `inputSize` ('fill') → grey or RGB → uint8 pixel cache →
 * batches of normalised floats `x = (pixel * scale − mean[c]) / std[c]`, with optional seeded flip /
 * pad-and-crop augmentation (before MixUp), a seeded shuffle per epoch, and prefetch of the next batch.
 *
 * Decoding: a pool of worker threads (./decode-worker.ts) runs sharp, so neither decoding nor its JS-side
 * handling touches the thread that drives the engine; small sets (or `workers: 0`) decode in this thread, where
 * sharp still runs libvips on libuv's pool.
 * Cache: decoded pixels are kept in memory when they fit `memoryBudgetBytes`, else read back per batch from
 * the on-disk cache. The disk cache (`<cacheDir>/pixels/<h>x<w>x<c>-fill/<hh>/<hash>.u8`, keyed by the
 * image's content hash and the preprocessing) is always written, so later runs do not decode again. Each file
 * is written as `<hash>.u8.PID.RANDOM.tmp` and renamed into place; a failed write removes its temp file, and
 * the next build removes the temp files of writers that died (never those of a live one: two trainings of one
 * dataset may fill one cache at once, each rename putting the same bytes in place).
 *
 * What a build leaves out, by cause (the caller reports each): an image that does not decode, or is too large
 * to (a verdict on its content: `onCorrupt`); a file that vanished since the caller listed it, e.g. removed by
 * a rescan while a training starts (`onVanished`); a file that cannot be read this time, EACCES or EIO
 * (`onReadError`: no verdict, the next run tries it again).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { AppError, throwIfCancelled } from '../core/errors';
import { sweepDeadTemps, tempPathFor } from '../core/temp-files';
import { ImageReadError, readImageFileAsync } from '../datasets/read-file';
import type { Rng } from '../mixup/rng';

export const PIXEL_SCALE = 1 / 255;

export interface DataItem {
  id: number;
  /** Absolute path of the image file. */
  path: string;
  classIndex: number;
  /** Content hash from the index (cache key); null when unknown. */
  hash?: string | null;
}

export interface Preprocessing {
  inputSize: [number, number];
  channels: 1 | 3;
  scale: number;
  mean: number[];
  std: number[];
  resize: 'fill';
}

export interface AugmentConfig {
  flip: boolean;
  padCrop: number;
}

export interface Batch {
  /** B·h·w·c normalised floats, NHWC. */
  x: Float32Array;
  labels: Int32Array;
  size: number;
}

/** One image for a decode worker: where it is, where its cache file goes ('' = none), the target format. */
export interface DecodeJob {
  path: string;
  cacheFile: string;
  inputSize: [number, number];
  channels: 1 | 3;
}

/** Why an image was left out: it does not decode (corrupt), its file is gone, or it could not be read now. */
export type LeftOutCause = 'corrupt' | 'vanished' | 'unreadable';

export interface DecodeOutcome {
  pixels: Uint8Array | null;
  error: string | null;
  /** With `error`: what kind of failure it was. */
  cause?: LeftOutCause;
  /** The pixels decoded but their cache file could not be written (the reason). */
  cacheError?: string;
}

const oneLine = (err: unknown, fallback: string) => (err as Error).message.replace(/\s+/g, ' ').trim() || fallback;

/** Decodes one image and writes it to its cache file; never throws (the failure and its cause come back). */
export async function decodeToCache(job: DecodeJob): Promise<DecodeOutcome> {
  let pixels: Uint8Array;
  try {
    pixels = await decodeImage(job.path, job.inputSize, job.channels);
  } catch (err) {
    const cause: LeftOutCause =
      err instanceof ImageReadError && err.failure !== 'too-large' ? (err.failure === 'missing' ? 'vanished' : 'unreadable') : 'corrupt';
    return { pixels: null, error: oneLine(err, 'failed to decode'), cause };
  }
  if (job.cacheFile) {
    try {
      writeAtomic(job.cacheFile, pixels);
    } catch (err) {
      // The cache is not the image: a full disk is no reason to call the image corrupt.
      return { pixels, error: null, cacheError: oneLine(err, 'write failed') };
    }
  }
  return { pixels, error: null };
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
  signal?: AbortSignal;
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
 * Decodes one image file to `h·w·c` uint8 pixels (fill resize, alpha dropped, grey or sRGB). The file is read
 * by a bounded read (../datasets/read-file.ts): a failure to read it throws ImageReadError, which says whether
 * the file is gone, unreadable or too large; a failure to decode throws sharp's error.
 */
export async function decodeImage(file: string, inputSize: [number, number], channels: 1 | 3): Promise<Uint8Array> {
  const read = await readImageFileAsync(file);
  if (!read.ok) throw new ImageReadError(read.failure, read.reason);
  const { default: sharp } = await import('sharp');
  const [h, w] = inputSize;
  let pipe = sharp(read.buf, { failOn: 'error' }).removeAlpha().resize(w, h, { fit: 'fill' });
  pipe = channels === 1 ? pipe.greyscale() : pipe.toColourspace('srgb');
  const { data, info } = await pipe.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h) throw new Error(`resized to ${info.width}×${info.height}, expected ${w}×${h}`);
  const px = h * w;
  if (info.channels === channels) return new Uint8Array(data.buffer, data.byteOffset, px * channels).slice();
  const out = new Uint8Array(px * channels);
  const ic = info.channels;
  for (let i = 0; i < px; i++) {
    if (channels === 3) {
      const g = data[i * ic];
      out[i * 3] = g;
      out[i * 3 + 1] = ic >= 3 ? data[i * ic + 1] : g;
      out[i * 3 + 2] = ic >= 3 ? data[i * ic + 2] : g;
    } else {
      out[i] = ic >= 3 ? Math.round(0.2126 * data[i * ic] + 0.7152 * data[i * ic + 1] + 0.0722 * data[i * ic + 2]) : data[i * ic];
    }
  }
  return out;
}

function cacheKey(item: DataItem): string {
  return item.hash && /^[0-9a-zA-Z]+$/.test(item.hash) ? item.hash : createHash('sha1').update(item.path).digest('hex');
}

/** Writes beside and renames (a reader never sees half a file); a failed write leaves no temp file behind. */
function writeAtomic(file: string, data: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  // Unique per writer: the decode worker threads of one process share its pid.
  const tmp = tempPathFor(file, true);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Cache folders whose dead writers' temp files this process has removed already. */
const sweptCacheDirs = new Set<string>();

/** Removes the temp files that writers which died left in a pixel cache folder (`<dir>/<hh>/`). */
function sweepCacheTemps(dir: string): void {
  if (sweptCacheDirs.has(dir)) return;
  sweptCacheDirs.add(dir);
  let subdirs: string[];
  try {
    subdirs = readdirSync(dir);
  } catch {
    return;
  }
  for (const sub of subdirs) if (sub.length === 2) sweepDeadTemps(join(dir, sub));
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
    const dir = opts.cacheDir
      ? join(opts.cacheDir, 'pixels', `${opts.inputSize[0]}x${opts.inputSize[1]}x${opts.channels}-fill`)
      : null;
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
    let next = 0;
    const reader = async () => {
      for (;;) {
        const i = next++;
        if (i >= all.length) return;
        throwIfCancelled(opts.signal, 'training');
        const key = cacheKey(all[i]);
        const file = dir ? join(dir, key.slice(0, 2), `${key}.u8`) : '';
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
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, all.length) }, reader));
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
        await Promise.all(
          chunks.map(async (chunk) => {
            throwIfCancelled(opts.signal, 'training');
            const res = await pool.run(chunk.map(job));
            chunk.forEach((i, j) => settle(i, res[j]));
          }),
        );
      } finally {
        await pool.close();
      }
    } else {
      let m = 0;
      const inline = async () => {
        for (;;) {
          const k = m++;
          if (k >= missing.length) return;
          throwIfCancelled(opts.signal, 'training');
          settle(missing[k], await decodeToCache(job(missing[k])));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, missing.length) }, inline));
    }
    throwIfCancelled(opts.signal, 'training');
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

/**
 * Makes batches from a store. Shuffling and augmentation draw from the generators passed in, in sample order,
 * so the same generators give the same batches.
 */
export class BatchMaker {
  private readonly labels: Int32Array;

  constructor(
    readonly store: ImageStore,
    readonly pre: Preprocessing,
    readonly augment: AugmentConfig = { flip: false, padCrop: 0 },
  ) {
    this.labels = Int32Array.from(store.items.map((it) => it.classIndex));
  }

  get size(): number {
    return this.store.items.length;
  }

  labelOf(k: number): number {
    return this.labels[k];
  }

  /** The order of one epoch: a Fisher–Yates permutation from `rng`. */
  static permutation(n: number, rng: Rng): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    rng.shuffle(order);
    return order;
  }

  /**
   * The batch of store positions `indices`. Augmentation draws (flip, crop offsets) are taken from `augRng`
   * synchronously, before any await, so prefetching cannot reorder them.
   */
  batch(indices: ArrayLike<number>, augRng: Rng | null): Promise<Batch> {
    const [h, w] = this.pre.inputSize;
    const c = this.pre.channels;
    const n = indices.length;
    const flips = new Uint8Array(n);
    const dy = new Int32Array(n);
    const dx = new Int32Array(n);
    const p = this.augment.padCrop;
    if (augRng && (this.augment.flip || p > 0)) {
      for (let i = 0; i < n; i++) {
        if (this.augment.flip) flips[i] = augRng.next() < 0.5 ? 1 : 0;
        if (p > 0) {
          dy[i] = augRng.int(2 * p + 1) - p;
          dx[i] = augRng.int(2 * p + 1) - p;
        }
      }
    }
    const idx = Array.from(indices);
    return (async () => {
      const per = h * w * c;
      const x = new Float32Array(n * per);
      const labels = new Int32Array(n);
      const mul = new Float32Array(c);
      const add = new Float32Array(c);
      for (let ch = 0; ch < c; ch++) {
        mul[ch] = this.pre.scale / this.pre.std[ch];
        add[ch] = -this.pre.mean[ch] / this.pre.std[ch];
      }
      for (let i = 0; i < n; i++) {
        const k = idx[i];
        labels[i] = this.labels[k];
        const px = await this.store.pixels(k);
        const base = i * per;
        const plain = flips[i] === 0 && dy[i] === 0 && dx[i] === 0;
        if (plain) {
          for (let j = 0; j < per; j++) x[base + j] = px[j] * mul[j % c] + add[j % c];
          continue;
        }
        for (let yy = 0; yy < h; yy++) {
          const sy = yy + dy[i];
          for (let xx = 0; xx < w; xx++) {
            let sx = xx + dx[i];
            if (flips[i]) sx = w - 1 - (xx + dx[i]);
            const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            for (let ch = 0; ch < c; ch++) {
              const v = inside ? px[(sy * w + sx) * c + ch] : 0;
              x[base + (yy * w + xx) * c + ch] = v * mul[ch] + add[ch];
            }
          }
        }
      }
      return { x, labels, size: n };
    })();
  }
}

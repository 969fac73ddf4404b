/**
 * Batches of a store: normalised floats `x = (pixel * scale − mean[c]) / std[c]` (NHWC), with optional seeded
 * flip / pad-and-crop augmentation (before MixUp). The epoch's order comes from epochOrder (../mixup/rng.ts); the loop
 * (./loop.ts) prefetches the next batch while one trains.
 */
import type { Rng } from '../mixup/rng';
import type { ImageStore } from './image-store';
import type { Preprocessing } from '../config/preprocessing';

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

/**
 * What the loop trains and evaluates on: `size` samples, batches by position. The images of a store
 * (BatchMaker) or a backbone's cached embeddings (./embedding-batches.ts).
 */
export interface BatchSource {
  readonly size: number;
  batch(indices: ArrayLike<number>, augRng: Rng | null): Promise<Batch>;
}

/**
 * Makes batches from a store. Augmentation draws from the generator passed in, in sample order, so the same
 * generator (and the same epoch order) gives the same batches.
 */
export class BatchMaker implements BatchSource {
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

/**
 * Batches of a backbone's cached embeddings (the store of backbones/repository.ts), for a head trained on a
 * frozen backbone. Each batch reads its vectors from SQLite by content hash (one indexed lookup per sample),
 * so the embeddings of a large dataset (100,000 × 1,280 floats are 512 MB) never sit in the heap at once: only
 * the batch being trained and the one prefetched.
 */
import type Database from 'better-sqlite3';
import { AppError } from '../core/errors';
import type { Rng } from '../mixup/rng';
import { embeddingReader } from '../backbones/repository';
import type { Batch, BatchSource } from './batches';

export interface EmbeddedItem {
  hash: string;
  classIndex: number;
}

export class EmbeddingBatches implements BatchSource {
  private readonly read: (hash: string) => Buffer | undefined;

  constructor(
    db: Database.Database,
    backboneId: number,
    private readonly items: readonly EmbeddedItem[],
    readonly dim: number,
  ) {
    this.read = embeddingReader(db, backboneId);
  }

  get size(): number {
    return this.items.length;
  }

  /** The batch of positions `indices` (no augmentation: a frozen backbone's embeddings are fixed). */
  batch(indices: ArrayLike<number>, _augRng: Rng | null): Promise<Batch> {
    const n = indices.length;
    const x = new Float32Array(n * this.dim);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const item = this.items[indices[i]!]!;
      const v = this.read(item.hash);
      if (!v || v.byteLength !== this.dim * 4) {
        throw new AppError('internal', `the embedding of image content ${item.hash.slice(0, 12)}… is ${v ? `${v.byteLength / 4}-d, expected ${this.dim}-d` : 'missing from the store'}`);
      }
      // Byte copy: a Buffer's offset need not be float-aligned.
      new Uint8Array(x.buffer, i * this.dim * 4, this.dim * 4).set(v);
      labels[i] = item.classIndex;
    }
    return Promise.resolve({ x, labels, size: n });
  }
}

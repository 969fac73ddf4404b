/**
 * Nearest neighbours on the embeddings, brute force in blocks through onnxruntime (CosineIndex): every image's
 * k most similar images of the whole dataset, and each one's k most similar of its own class (for outliers).
 * Brute force is exact and, at 30,000 × 64-d, about a second here; past ~100,000 images a vector index would
 * be the next step (README).
 */
import { throwIfCancelled } from '../core/errors';
import { CosineIndex } from './ort-math';

/** Rows scaled to unit length (a zero row stays zero). */
export function unitRows(x: Float32Array, n: number, d: number): Float32Array {
  const u = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! * x[i * d + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) u[i * d + j] = x[i * d + j]! * inv;
  }
  return u;
}

/** k neighbours per row: similarities and row numbers (n × k), best first; a row's own entry is left out. */
export interface Neighbours {
  k: number;
  sim: Float32Array;
  /** -1 where a row had fewer than k others to find. */
  idx: Int32Array;
}

const BLOCK = 1024;

/**
 * The k nearest rows of each of `rows` (indices into u) among `rows` themselves, excluding the row itself.
 * Results are in the order of `rows`, with indices into u.
 */
export async function neighboursWithin(u: Float32Array, d: number, rows: readonly number[], k: number, signal?: AbortSignal, onBlock?: (done: number) => void): Promise<Neighbours> {
  const m = rows.length;
  const sim = new Float32Array(m * k).fill(-Infinity);
  const idx = new Int32Array(m * k).fill(-1);
  if (m < 2) return { k, sim, idx };
  // Every row in order: the unit rows themselves (no copy); otherwise the rows picked.
  const all = m * d === u.length && rows.every((r, i) => r === i);
  const base = all ? u : new Float32Array(m * d);
  if (!all) rows.forEach((r, i) => base.set(u.subarray(r * d, (r + 1) * d), i * d));
  const index = await CosineIndex.create(base, m, d, k + 1);
  try {
    for (let start = 0; start < m; start += BLOCK) {
      throwIfCancelled(signal, 'curation');
      const count = Math.min(BLOCK, m - start);
      const { values, indices } = await index.search(base.subarray(start * d, (start + count) * d), count);
      const kk = index.k;
      for (let q = 0; q < count; q++) {
        const self = start + q;
        let w = 0;
        for (let h = 0; h < kk && w < k; h++) {
          const j = indices[q * kk + h]!;
          // An exact copy of the row ties with it: leave out the row itself, not its copies.
          if (j === self) continue;
          sim[self * k + w] = values[q * kk + h]!;
          idx[self * k + w] = rows[j]!;
          w++;
        }
      }
      onBlock?.(start + count);
    }
  } finally {
    await index.release();
  }
  return { k, sim, idx };
}

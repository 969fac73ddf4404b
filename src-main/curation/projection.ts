/**
 * The map: every image placed in 2-D by its embedding. UMAP (umap-js, seeded) over the exact nearest
 * neighbours curation already found (so UMAP's own approximate search is skipped), on a seeded sample of
 * 10,000 landmarks past that size (the rest placed among their nearest landmarks); PCA (the two leading
 * directions of the unit rows, by subspace iteration in onnxruntime) where there are too few images for UMAP.
 * Coordinates are scaled into [-1, 1].
 */
import { throwIfCancelled } from '../core/errors';
import { Rng } from '../mixup/rng';
import { neighboursWithin, type Neighbours } from './neighbours';
import { ConstMatMul, CosineIndex, transpose } from './ort-math';

export type MapMethod = 'umap' | 'pca';

/** The two leading principal directions' coordinates of the rows of u (n × d), as n × 2. */
export async function pca2(u: Float32Array, n: number, d: number, seed: number | string): Promise<Float32Array> {
  const out = new Float32Array(n * 2);
  if (n < 2 || d < 1) return out;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += u[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] /= n;
  const xc = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xc[i * d + j] = u[i * d + j]! - mean[j]!;
  const X = await ConstMatMul.create(xc, n, d);
  const Xt = await ConstMatMul.create(transpose(xc, n, d), d, n).catch(async (err) => {
    await X.release();
    throw err;
  });
  const p = Math.min(2, d);
  const rng = new Rng(seed).fork('curation-pca');
  let v: Float32Array = Float32Array.from({ length: d * p }, () => rng.normal());
  try {
    for (let it = 0; it < 40; it++) {
      const w = await Xt.times(await X.times(v, p), p);
      // Gram–Schmidt on the p columns of w (d × p).
      for (let c = 0; c < p; c++) {
        for (let e = 0; e < c; e++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += w[j * p + c]! * w[j * p + e]!;
          for (let j = 0; j < d; j++) w[j * p + c]! -= s * w[j * p + e]!;
        }
        let norm = 0;
        for (let j = 0; j < d; j++) norm += w[j * p + c]! ** 2;
        norm = Math.sqrt(norm) || 1;
        for (let j = 0; j < d; j++) w[j * p + c]! /= norm;
      }
      v = w;
    }
    const coords = await X.times(v, p);
    for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) out[i * 2 + c] = coords[i * p + c]!;
  } finally {
    await X.release();
    await Xt.release();
  }
  return scaled(out, n);
}

function scaled(xy: Float32Array, n: number): Float32Array {
  for (let c = 0; c < 2; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, xy[i * 2 + c]!);
      hi = Math.max(hi, xy[i * 2 + c]!);
    }
    const span = hi - lo || 1;
    for (let i = 0; i < n; i++) xy[i * 2 + c] = ((xy[i * 2 + c]! - lo) / span) * 2 - 1;
  }
  return xy;
}

/** The smallest image count UMAP is used for (below it, PCA). */
export const UMAP_MIN = 32;

/** Past this many images, UMAP lays out a seeded sample of them and the rest are placed among their neighbours. */
export const UMAP_MAX = 10_000;

export async function projectMap(
  u: Float32Array,
  n: number,
  d: number,
  nb: Neighbours,
  opts: { seed: number | string; method?: MapMethod; signal?: AbortSignal; onEpoch?: (done: number, total: number) => void; umapMax?: number },
): Promise<{ xy: Float32Array; method: MapMethod }> {
  const method = opts.method ?? 'umap';
  if (method === 'pca' || n < UMAP_MIN || nb.k < 2) return { xy: await pca2(u, n, d, opts.seed), method: 'pca' };
  const max = opts.umapMax ?? UMAP_MAX;
  if (n <= max) return { xy: scaled(await umapLayout(n, nb, opts), n), method: 'umap' };
  // Landmarks: a seeded sample laid out by UMAP over its own exact neighbours; every other image goes to the
  // similarity-weighted mean of its 5 nearest landmarks (umap-js's own graph of 100,000 points took 8 minutes
  // and 3.7 GB here).
  const rng = new Rng(opts.seed).fork('curation-landmarks');
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  const sample = order.slice(0, max).sort((a, b) => a - b);
  const local = new Map(sample.map((g, i) => [g, i]));
  const nbS = await neighboursWithin(u, d, sample, nb.k, opts.signal);
  for (let i = 0; i < nbS.idx.length; i++) if (nbS.idx[i]! >= 0) nbS.idx[i] = local.get(nbS.idx[i]!)!;
  const xyS = await umapLayout(sample.length, nbS, opts);
  const xy = new Float32Array(n * 2);
  sample.forEach((g, i) => {
    xy[g * 2] = xyS[i * 2]!;
    xy[g * 2 + 1] = xyS[i * 2 + 1]!;
  });
  const base = new Float32Array(sample.length * d);
  sample.forEach((g, i) => base.set(u.subarray(g * d, (g + 1) * d), i * d));
  const rest = order.slice(max).sort((a, b) => a - b);
  const index = await CosineIndex.create(base, sample.length, d, 5);
  try {
    for (let start = 0; start < rest.length; start += 1024) {
      throwIfCancelled(opts.signal, 'curation');
      const m = Math.min(1024, rest.length - start);
      const q = new Float32Array(m * d);
      for (let r = 0; r < m; r++) q.set(u.subarray(rest[start + r]! * d, (rest[start + r]! + 1) * d), r * d);
      const { values, indices } = await index.search(q, m);
      for (let r = 0; r < m; r++) {
        let wx = 0;
        let wy = 0;
        let ws = 0;
        for (let h = 0; h < index.k; h++) {
          const j = indices[r * index.k + h]!;
          const wgt = Math.max(1e-6, values[r * index.k + h]! + 1);
          wx += wgt * xyS[j * 2]!;
          wy += wgt * xyS[j * 2 + 1]!;
          ws += wgt;
        }
        const g = rest[start + r]!;
        xy[g * 2] = wx / ws;
        xy[g * 2 + 1] = wy / ws;
      }
    }
  } finally {
    await index.release();
  }
  return { xy: scaled(xy, n), method: 'umap' };
}

/** UMAP of `n` points from their neighbours (indices into the same n), unscaled. */
async function umapLayout(n: number, nb: Neighbours, opts: { seed: number | string; signal?: AbortSignal; onEpoch?: (done: number, total: number) => void }): Promise<Float32Array> {
  const { UMAP } = await import('umap-js');
  const rng = new Rng(opts.seed).fork('curation-umap');
  // UMAP counts the point itself as its first neighbour (distance 0), then the others by cosine distance.
  const k = nb.k + 1;
  const knnIndices: number[][] = [];
  const knnDistances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = [i];
    const dist = [0];
    for (let h = 0; h < nb.k; h++) {
      const j = nb.idx[i * nb.k + h]!;
      // A row with fewer neighbours than k repeats its last one (UMAP needs k of each).
      idx.push(j >= 0 ? j : idx[idx.length - 1]!);
      dist.push(j >= 0 ? Math.max(0, 1 - nb.sim[i * nb.k + h]!) : dist[dist.length - 1]!);
    }
    knnIndices.push(idx);
    knnDistances.push(dist);
  }
  const umap = new UMAP({ nComponents: 2, nNeighbors: k, minDist: 0.1, random: () => rng.next(), nEpochs: n >= 5_000 ? 200 : 400 });
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  const placeholder = Array.from({ length: n }, () => [0]);
  const epochs = umap.initializeFit(placeholder);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (e % 10 === 9) {
      throwIfCancelled(opts.signal, 'curation');
      opts.onEpoch?.(e + 1, epochs);
      // Let the event loop answer (serve, progress, cancel) between epochs.
      await new Promise((r) => setImmediate(r));
    }
  }
  const emb = umap.getEmbedding();
  const xy = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    xy[i * 2] = emb[i]![0]!;
    xy[i * 2 + 1] = emb[i]![1]!;
  }
  return xy;
}

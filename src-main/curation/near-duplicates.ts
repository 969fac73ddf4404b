/**
 * Near-duplicates in two stages, as the issue measured they must be: the embeddings' nearest neighbours give a
 * shortlist (cheap, but a cosine threshold alone floods the list or misses copies, depending on the backbone),
 * then the images themselves decide: each shortlisted image as a small grey thumbnail's differences,
 * brightness-normalised (zero mean, unit variance, so a re-exposed copy still matches), and a pair is a
 * near-duplicate when the two signatures correlate at least `threshold` (the user's strictness). Confirmed pairs are grouped (union-find);
 * a group spanning classes is a label conflict, one spanning splits a leak.
 */
import type { Neighbours } from './neighbours';
import { THUMB } from './thumb-one';

/** The thumbnails (16×16 grey) of the jobs' contents, by hash; null for one that could not be read. */
export type ThumbSource = (files: { hash: string; file: string }[]) => Promise<Map<string, Uint8Array | null>>;

/**
 * An image's signature from its THUMB × THUMB grey thumbnail: the horizontal and vertical differences, zero
 * mean and unit variance. Differences, not the pixels: on Fashion-MNIST the plain thumbnails of distinct
 * garments of one shape correlate up to 0.99 (their silhouette dominates), while copies re-exposed, noised (±20
 * levels) or re-saved as JPEG q60 stayed ≥ 0.963 on the differences and only 20 of 1,200 distinct images had a
 * distinct partner ≥ 0.96 (measured on the bundled sample). A flat image gives all zeros.
 */
export function signature(px: Uint8Array): Float32Array {
  const out = new Float32Array(2 * (THUMB - 1) * (THUMB - 1));
  let k = 0;
  for (let y = 0; y < THUMB - 1; y++) {
    for (let x = 0; x < THUMB - 1; x++) {
      out[k++] = px[y * THUMB + x + 1]! - px[y * THUMB + x]!;
      out[k++] = px[(y + 1) * THUMB + x]! - px[y * THUMB + x]!;
    }
  }
  let mean = 0;
  for (const v of out) mean += v;
  mean /= out.length;
  let sq = 0;
  for (const v of out) sq += (v - mean) * (v - mean);
  const std = Math.sqrt(sq / out.length);
  if (std < 1e-3) return out.fill(0);
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) / std;
  return out;
}

/** Pearson correlation of two normalised thumbnails (1 = the same picture up to brightness and contrast). */
export function thumbSimilarity(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s / a.length;
}

export interface DuplicateOptions {
  /** Embedding cosine a neighbour needs to be shortlisted (default 0.9). */
  shortlist?: number;
  /** Thumbnail correlation a shortlisted pair needs to be a near-duplicate (default 0.96). */
  threshold?: number;
}

export interface DuplicateGroup {
  /** Rows of the group, in row order. */
  rows: number[];
  /** The lowest thumbnail correlation of the pairs that joined it. */
  similarity: number;
}

export const DEFAULT_SHORTLIST = 0.9;
export const DEFAULT_DUPLICATE_THRESHOLD = 0.96;

/**
 * Groups of near-duplicate rows. `paths[r]` is row r's file and `hashes[r]` its content hash (rows with the
 * same content are duplicates without a look at their pixels); `nb` the rows' neighbours.
 */
export async function nearDuplicateGroups(paths: readonly string[], hashes: readonly string[], nb: Neighbours, thumbsOf: ThumbSource, opts: DuplicateOptions = {}): Promise<{ groups: DuplicateGroup[]; shortlisted: number; checked: number; unreadable: number }> {
  const shortlist = opts.shortlist ?? DEFAULT_SHORTLIST;
  const threshold = opts.threshold ?? DEFAULT_DUPLICATE_THRESHOLD;
  const n = paths.length;
  const pairs: [number, number][] = [];
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < nb.k; h++) {
      const j = nb.idx[i * nb.k + h]!;
      if (j < 0 || nb.sim[i * nb.k + h]! < shortlist) break;
      const a = Math.min(i, j);
      const b = Math.max(i, j);
      const key = a * n + b;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push([a, b]);
    }
  }
  // One thumbnail per distinct content among the shortlisted rows.
  const needed = new Map<string, number>();
  for (const [a, b] of pairs) {
    for (const r of [a, b]) if (!needed.has(hashes[r]!)) needed.set(hashes[r]!, r);
  }
  const pixels = await thumbsOf([...needed.entries()].map(([hash, r]) => ({ hash, file: paths[r]! })));
  const thumbs = new Map<string, Float32Array | null>();
  for (const [hash, px] of pixels) thumbs.set(hash, px ? signature(px) : null);
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  const worst = new Map<number, number>();
  let checked = 0;
  for (const [a, b] of pairs) {
    let s: number;
    if (hashes[a] === hashes[b]) s = 1;
    else {
      const ta = thumbs.get(hashes[a]!);
      const tb = thumbs.get(hashes[b]!);
      if (!ta || !tb) continue;
      checked++;
      s = thumbSimilarity(ta, tb);
    }
    if (s < threshold) continue;
    const ra = find(a);
    const rb = find(b);
    const w = Math.min(s, worst.get(ra) ?? 1, worst.get(rb) ?? 1);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
    worst.set(Math.min(ra, rb), w);
  }
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (r === i && !worst.has(r)) continue;
    let g = members.get(r);
    if (!g) members.set(r, (g = []));
    g.push(i);
  }
  const groups: DuplicateGroup[] = [];
  for (const [root, rows] of members) if (rows.length > 1) groups.push({ rows, similarity: worst.get(root) ?? 1 });
  const unreadable = [...thumbs.values()].filter((t) => t === null).length;
  return { groups, shortlisted: pairs.length, checked, unreadable };
}

/**
 * What the out-of-sample probabilities and the neighbours say, as ranked findings:
 * - label issues by confident learning (Northcutt et al.; cleanlab's `confident_learning` filter): per-class
 *   thresholds t_j = the mean probability of class j over the samples labelled j; a sample's likely true class
 *   is the most probable class among those it reaches the threshold of; the count matrix of given vs likely
 *   true class is the confident joint, and its off-diagonal samples are the suspects, ranked by self-confidence
 *   (the probability of the given class, lowest first);
 * - outliers: one minus the mean similarity to the k nearest images of the same class (FiftyOne's uniqueness,
 *   within a class), highest first;
 * - confusable class pairs: the out-of-sample confusion between the two, their overlap (how much probability
 *   each class puts on the other, cleanlab's overlapping classes), and intrusion (AdaMixup's manifold intrusion:
 *   how often a blend of an A and a B, at the λ the run would draw, lands among a third class C), with a
 *   policy suggestion and its reason in words.
 */
import { Rng } from '../mixup/rng';
import type { Neighbours } from './neighbours';
import { CosineIndex } from './ort-math';

export interface LabelFinding {
  row: number;
  given: number;
  suggested: number;
  /** 1 − the out-of-sample probability of the given class. */
  score: number;
}

export function labelIssues(probs: Float32Array, n: number, c: number, y: Int32Array): { issues: LabelFinding[]; thresholds: number[]; joint: number[][] } {
  const sums = new Float64Array(c);
  const counts = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    sums[y[i]!] += probs[i * c + y[i]!]!;
    counts[y[i]!] += 1;
  }
  const thresholds = Array.from(sums, (s, j) => (counts[j]! > 0 ? s / counts[j]! : 1));
  const joint = Array.from({ length: c }, () => new Array<number>(c).fill(0));
  const issues: LabelFinding[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestP = -1;
    for (let j = 0; j < c; j++) {
      const p = probs[i * c + j]!;
      if (p >= thresholds[j]! && p > bestP) {
        best = j;
        bestP = p;
      }
    }
    if (best < 0) continue;
    joint[y[i]!]![best]! += 1;
    if (best !== y[i]) issues.push({ row: i, given: y[i]!, suggested: best, score: 1 - probs[i * c + y[i]!]! });
  }
  issues.sort((a, b) => b.score - a.score || a.row - b.row);
  return { issues, thresholds, joint };
}

export interface OutlierFinding {
  row: number;
  score: number;
}

/** Outlier score of every row from its same-class neighbours (`nb`, in row order), highest first. */
export function outliers(nb: Neighbours, n: number, k = 5): OutlierFinding[] {
  const out: OutlierFinding[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    let m = 0;
    for (let h = 0; h < Math.min(k, nb.k); h++) {
      if (nb.idx[i * nb.k + h]! < 0) break;
      s += nb.sim[i * nb.k + h]!;
      m++;
    }
    if (m === 0) continue;
    out.push({ row: i, score: 1 - s / m });
  }
  out.sort((a, b) => b.score - a.score || a.row - b.row);
  return out;
}

export interface PairFinding {
  a: number;
  b: number;
  score: number;
  /** Share of the two classes' samples predicted (out of sample) as the other. */
  confusion: number;
  /** Mean probability each class's samples put on the other, averaged over the two. */
  overlap: number;
  /**
   * How much more often a sampled A–B blend's nearest images are mostly of a third class than an unblended A or
   * B image's are (the backbone's own confusion is not the blend's fault); null when not measured.
   */
  intrusion: number | null;
  /** The third class most blends landed among. */
  intruder: number | null;
  suggestion: 'forbid' | 'down-weight' | null;
  /** The weight the suggestion would set (0 for forbid). */
  weight: number | null;
  reason: string;
}

export interface PairOptions {
  /** MixUp's α for the blends' λ ~ Beta(α, α) (≤ 0: λ = 0.5). */
  alpha: number;
  seed: number | string;
  /** Blends per pair (default 64). */
  blends?: number;
  /** Pairs whose intrusion is measured: the most confused ones (default 45, every pair of 10 classes). */
  measure?: number;
  /** Neighbours that vote on where a blend landed (default 10). */
  vote?: number;
  /**
   * The features of blended images (rows in the order given, d values each), for a run that mixes the images
   * themselves; left out, blends are made of the two embeddings (the `features` mixing point).
   */
  embedBlends?: (blends: Blend[]) => Promise<Float32Array>;
}

/** One sampled blend: rows i (of class a) and j (of class b), and the weight λ of row i. */
export interface Blend {
  i: number;
  j: number;
  lam: number;
}

/** Intrusion at or above this share suggests forbidding the pair. */
export const FORBID_INTRUSION = 0.2;
/** Confusion or overlap at or above this suggests down-weighting it. */
export const DOWN_WEIGHT_AT = 0.1;

function pct(x: number): string {
  return `${Math.round(x * 100)} %`;
}

/**
 * Every class pair, most confusable first. `x` are the raw embeddings (n × d; blends are made of them, then
 * compared as unit vectors with `u`, the unit rows), `nb` every image's nearest images (for the baseline: where
 * unblended images land), `names` the class names for the reasons.
 */
export async function confusablePairs(
  probs: Float32Array,
  n: number,
  c: number,
  y: Int32Array,
  x: Float32Array,
  u: Float32Array,
  d: number,
  nb: Neighbours,
  names: readonly string[],
  opts: PairOptions,
): Promise<PairFinding[]> {
  const count = new Float64Array(c);
  const predicted = Array.from({ length: c }, () => new Float64Array(c));
  const mass = Array.from({ length: c }, () => new Float64Array(c));
  for (let i = 0; i < n; i++) {
    const yi = y[i]!;
    count[yi] += 1;
    let arg = 0;
    for (let j = 0; j < c; j++) {
      mass[yi]![j] += probs[i * c + j]!;
      if (probs[i * c + j]! > probs[i * c + arg]!) arg = j;
    }
    predicted[yi]![arg] += 1;
  }
  const pairs: PairFinding[] = [];
  for (let a = 0; a < c; a++) {
    for (let b = a + 1; b < c; b++) {
      const both = count[a]! + count[b]!;
      if (count[a] === 0 || count[b] === 0) continue;
      const confusion = (predicted[a]![b]! + predicted[b]![a]!) / both;
      const overlap = (mass[a]![b]! / count[a]! + mass[b]![a]! / count[b]!) / 2;
      pairs.push({ a, b, score: 0, confusion, overlap, intrusion: null, intruder: null, suggestion: null, weight: null, reason: '' });
    }
  }
  pairs.sort((p, q) => q.confusion + q.overlap - (p.confusion + p.overlap) || p.a - q.a || p.b - q.b);

  // Intrusion, for the most confused pairs: blends of random A–B members at λ ~ Beta(α, α), as unit vectors,
  // and the classes of their nearest real images.
  const measure = pairs.slice(0, opts.measure ?? 45);
  const blends = opts.blends ?? 64;
  const members: number[][] = Array.from({ length: c }, () => []);
  for (let i = 0; i < n; i++) members[y[i]!]!.push(i);
  // Where each unblended image lands: the majority class of its nearest images (itself left out).
  const vote = Math.min(opts.vote ?? 10, n);
  const home = new Int32Array(n);
  {
    const votes = new Int32Array(c);
    for (let i = 0; i < n; i++) {
      votes.fill(0);
      for (let h = 0; h < Math.min(vote, nb.k); h++) {
        const j = nb.idx[i * nb.k + h]!;
        if (j >= 0) votes[y[j]!] += 1;
      }
      let arg = y[i]!;
      for (let j = 0; j < c; j++) if (votes[j]! > votes[arg]!) arg = j;
      home[i] = arg;
    }
  }
  if (measure.length && n > 2) {
    const rng = new Rng(opts.seed).fork('curation-intrusion');
    const triples: Blend[] = [];
    for (const p of measure) {
      for (let t = 0; t < blends; t++) {
        const i = members[p.a]![rng.int(members[p.a]!.length)]!;
        const j = members[p.b]![rng.int(members[p.b]!.length)]!;
        triples.push({ i, j, lam: opts.alpha > 0 ? rng.beta(opts.alpha, opts.alpha) : 0.5 });
      }
    }
    // The blends' features: the blend of the two embeddings, or (embedBlends) the embedding of the blended images.
    let queries: Float32Array;
    if (opts.embedBlends) queries = await opts.embedBlends(triples);
    else {
      queries = new Float32Array(triples.length * d);
      triples.forEach(({ i, j, lam }, q) => {
        for (let k = 0; k < d; k++) queries[q * d + k] = lam * x[i * d + k]! + (1 - lam) * x[j * d + k]!;
      });
    }
    const q = triples.length;
    for (let r = 0; r < q; r++) {
      let norm = 0;
      for (let k = 0; k < d; k++) norm += queries[r * d + k]! ** 2;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let k = 0; k < d; k++) queries[r * d + k]! *= inv;
    }
    const index = await CosineIndex.create(u, n, d, vote);
    try {
      const block = 1024;
      const landed = new Int32Array(q);
      for (let start = 0; start < q; start += block) {
        const m = Math.min(block, q - start);
        const { indices } = await index.search(queries.subarray(start * d, (start + m) * d), m);
        const votes = new Int32Array(c);
        for (let r = 0; r < m; r++) {
          votes.fill(0);
          for (let h = 0; h < index.k; h++) votes[y[indices[r * index.k + h]!]!] += 1;
          let arg = 0;
          for (let j = 1; j < c; j++) if (votes[j]! > votes[arg]!) arg = j;
          // A tie with either of the blend's own classes is no intrusion.
          const p = measure[Math.floor((start + r) / blends)]!;
          if (votes[p.a] === votes[arg]) arg = p.a;
          else if (votes[p.b] === votes[arg]) arg = p.b;
          landed[start + r] = arg;
        }
      }
      measure.forEach((p, k) => {
        const third = new Int32Array(c);
        let out = 0;
        for (let t = 0; t < blends; t++) {
          const l = landed[k * blends + t]!;
          if (l !== p.a && l !== p.b) {
            out++;
            third[l] += 1;
          }
        }
        let base = 0;
        for (const i of [...members[p.a]!, ...members[p.b]!]) if (home[i] !== p.a && home[i] !== p.b) base++;
        base /= members[p.a]!.length + members[p.b]!.length;
        p.intrusion = Math.max(0, out / blends - base);
        let arg = -1;
        for (let j = 0; j < c; j++) if (third[j]! > 0 && (arg < 0 || third[j]! > third[arg]!)) arg = j;
        p.intruder = arg >= 0 ? arg : null;
      });
    } finally {
      await index.release();
    }
  }

  for (const p of pairs) {
    const A = names[p.a]!;
    const B = names[p.b]!;
    p.score = Math.max(p.confusion, p.overlap) + (p.intrusion ?? 0) / 2;
    if (p.intrusion !== null && p.intrusion >= FORBID_INTRUSION && p.intruder !== null) {
      p.suggestion = 'forbid';
      p.weight = 0;
      p.reason = `blends of ${A} and ${B} land among ${names[p.intruder]} ${pct(p.intrusion)} more often than ${A} and ${B} images do`;
    } else if (Math.max(p.confusion, p.overlap) >= DOWN_WEIGHT_AT) {
      p.suggestion = 'down-weight';
      // The closer the two, the rarer their blends: 1 − 2 × the larger share, in tenths, within [0.1, 0.8].
      p.weight = Math.min(0.8, Math.max(0.1, Math.round((1 - 2 * Math.max(p.confusion, p.overlap)) * 10) / 10));
      p.reason =
        p.confusion >= p.overlap
          ? `${A} and ${B} are confused ${pct(p.confusion)} of the time out of sample`
          : `${A} and ${B} put ${pct(p.overlap)} of their probability on each other out of sample`;
    } else {
      p.reason = `${A} and ${B}: confusion ${pct(p.confusion)}, overlap ${pct(p.overlap)}${p.intrusion !== null ? `, blends elsewhere ${pct(p.intrusion)}` : ''}`;
    }
  }
  pairs.sort((p, q) => q.score - p.score || p.a - q.a || p.b - q.b);
  return pairs;
}

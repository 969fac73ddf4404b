/**
 * `curate DATASET --backbone NAME`: one pass over the dataset's cached embeddings (computed first where
 * missing) that finds label issues, near-duplicates, outliers and confusable class pairs, places every image on
 * a 2-D map, and stores the result with the dataset (curations table), so the screens show it at once.
 */
import { AppError, throwIfCancelled } from '../core/errors';
import type { Services } from '../core/services';
import { defaultRunConfig } from '../config/run-config';
import { listClasses, listUsableImages, resolveDataset } from '../datasets/repository';
import { computeEmbeddings, embedBlendedImages } from '../backbones/embed';
import { readEmbeddings, resolveBackbone } from '../backbones/repository';
import { confusablePairs, labelIssues, outliers as rankOutliers, type Blend } from './findings';
import { outOfSampleProbs } from './label-model';
import { DEFAULT_DUPLICATE_THRESHOLD, DEFAULT_SHORTLIST, nearDuplicateGroups } from './near-duplicates';
import { neighboursWithin, unitRows, type Neighbours } from './neighbours';
import { projectMap, type MapMethod } from './projection';
import { thumbnailsFor } from './thumbs';
import { contentHash, saveCuration } from './repository';

export type CurationPhase = 'embed' | 'folds' | 'neighbours' | 'duplicates' | 'outliers' | 'pairs' | 'map';

export interface CurateOptions {
  folds?: number;
  seed?: number | string;
  /** MixUp's α for the intrusion blends (default: the run config's default). */
  alpha?: number;
  /** Thumbnail correlation for a near-duplicate (default 0.96; higher is stricter). */
  duplicateThreshold?: number;
  /** Embedding cosine for the near-duplicate shortlist (default 0.9). */
  shortlist?: number;
  /** How many outliers to report (default: 2 % of the images, at least 10, at most 100). */
  top?: number;
  map?: MapMethod | 'none';
  /**
   * What intrusion blends: 'embeddings' (the two images' embeddings, as a frozen-backbone run mixes them; the
   * default) or 'images' (the images themselves, then embedded: for runs that mix the input).
   */
  intrusion?: 'embeddings' | 'images';
  signal?: AbortSignal;
  onProgress?: (phase: CurationPhase, done: number, total: number) => void;
}

export interface CurationResult {
  dataset: { id: number; name: string };
  backbone: { id: number; name: string };
  images: number;
  embeddings: { computed: number; cached: number };
  /** The near-duplicate check: shortlisted pairs, pairs compared on their thumbnails, thumbnails decoded now or cached. */
  duplicateCheck: { shortlisted: number; compared: number; thumbnails: { computed: number; cached: number } };
  /** Usable images left out because they could not be embedded. */
  skipped: { path: string; reason: string }[];
  labelIssues: { path: string; given: string; suggested: string; score: number; split: string }[];
  nearDuplicates: { paths: string[]; classes: string[]; splits: string[]; similarity: number; conflict: boolean; leak: boolean }[];
  outliers: { path: string; class: string; score: number }[];
  pairs: {
    a: string;
    b: string;
    score: number;
    confusion: number;
    overlap: number;
    intrusion: number | null;
    intruder: string | null;
    suggestion: 'forbid' | 'down-weight' | null;
    weight: number | null;
    reason: string;
  }[];
  params: { folds: number; seed: number | string; alpha: number; duplicateThreshold: number; shortlist: number; top: number; map: MapMethod | 'none'; intrusion: 'embeddings' | 'images' };
  /** How the map was made and how many points it has (the points: `curation:map`). */
  map: { method: MapMethod; points: number } | null;
  createdAt: string;
  seconds: number;
}

/** Global neighbours per image: enough for UMAP's graph and the near-duplicate shortlist. */
const GLOBAL_K = 15;
/** Same-class neighbours per image for the outlier score. */
const CLASS_K = 5;

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export async function curateDataset(services: Services, datasetRef: string | number, backboneRef: string | number, opts: CurateOptions = {}): Promise<CurationResult> {
  const started = performance.now();
  const db = services.db;
  const ds = resolveDataset(db, datasetRef);
  const bb = resolveBackbone(db, backboneRef);
  const params: CurationResult['params'] = {
    folds: opts.folds ?? 5,
    seed: opts.seed ?? 0,
    alpha: opts.alpha ?? defaultRunConfig().mixup.alpha,
    duplicateThreshold: opts.duplicateThreshold ?? DEFAULT_DUPLICATE_THRESHOLD,
    shortlist: opts.shortlist ?? DEFAULT_SHORTLIST,
    top: opts.top ?? 0,
    map: opts.map ?? 'umap',
    intrusion: opts.intrusion ?? 'embeddings',
  };
  const progress = opts.onProgress ?? (() => {});
  const embedded = await computeEmbeddings(services, ds.id, bb.id, { signal: opts.signal, onProgress: (done, total) => progress('embed', done, total) });
  // After the embedding: an image it found corrupt is no longer usable, and the pass saw the files without it.
  const content = contentHash(db, ds.id);
  throwIfCancelled(opts.signal, 'curation');
  const classes = listClasses(db, ds.id);
  const names = classes.map((c) => c.name);
  const all = listUsableImages(db, ds.id);
  const vectors = new Map<string, Float32Array>();
  for (const v of readEmbeddings(db, bb.id, [...new Set(all.map((i) => i.hash))])) vectors.set(v.hash, v.vector);
  const failed = new Map(embedded.failed.map((f) => [f.path, f.reason]));
  const images = all.filter((i) => vectors.has(i.hash));
  const skipped = all.filter((i) => !vectors.has(i.hash)).map((i) => ({ path: i.relPath, reason: failed.get(i.relPath) ?? 'no embedding' }));
  const n = images.length;
  const present = new Set(images.map((i) => i.classIndex));
  if (present.size < 2) {
    throw new AppError('input', `dataset '${ds.name}' has ${present.size === 0 ? 'no usable image' : `images of one class only (${names[[...present][0]!]})`}: curation compares classes and needs at least 2`);
  }
  if (n < 4) throw new AppError('input', `dataset '${ds.name}' has ${n} usable images: curation needs at least 4`);
  const d = embedded.dim;
  const x = new Float32Array(n * d);
  images.forEach((img, i) => x.set(vectors.get(img.hash)!, i * d));
  vectors.clear();
  const y = Int32Array.from(images, (i) => i.classIndex);
  const c = names.length;

  // Label issues: out-of-sample probabilities from K folds, then confident learning.
  progress('folds', 0, params.folds);
  const oos = await outOfSampleProbs(x, n, d, y, c, { folds: params.folds, seed: params.seed, signal: opts.signal, onFold: (done, total) => progress('folds', done, total) });
  const li = labelIssues(oos.probs, n, c, y);

  // Neighbours of the whole dataset (near-duplicates, the map) and within each class (outliers).
  const u = unitRows(x, n, d);
  const everyRow = Array.from({ length: n }, (_, i) => i);
  const global = await neighboursWithin(u, d, everyRow, GLOBAL_K, opts.signal, (done) => progress('neighbours', done, n));
  const paths = images.map((i) => i.path);
  const hashes = images.map((i) => i.hash);
  const thumbnails = { computed: 0, cached: 0 };
  const recipe = { inputSize: bb.preprocessing.inputSize, channels: bb.preprocessing.channels, resize: bb.preprocessing.resize };
  const thumbsOf = async (jobs: { hash: string; file: string }[]) => {
    const t = await thumbnailsFor(db, recipe, jobs, { signal: opts.signal, onProgress: (done, total) => progress('duplicates', done, total) });
    thumbnails.computed += t.computed;
    thumbnails.cached += t.cached;
    return t.thumbs;
  };
  const dups = await nearDuplicateGroups(paths, hashes, global, thumbsOf, { shortlist: params.shortlist, threshold: params.duplicateThreshold });

  const perClass: Neighbours = { k: CLASS_K, sim: new Float32Array(n * CLASS_K).fill(-Infinity), idx: new Int32Array(n * CLASS_K).fill(-1) };
  for (let k = 0; k < c; k++) {
    const rows = everyRow.filter((i) => y[i] === k);
    if (rows.length < 2) continue;
    const nb = await neighboursWithin(u, d, rows, CLASS_K, opts.signal);
    rows.forEach((r, q) => {
      perClass.sim.set(nb.sim.subarray(q * CLASS_K, (q + 1) * CLASS_K), r * CLASS_K);
      perClass.idx.set(nb.idx.subarray(q * CLASS_K, (q + 1) * CLASS_K), r * CLASS_K);
    });
    progress('outliers', k + 1, c);
  }
  // Default: the most unusual 2 % (at least 10, at most 100).
  if (!params.top) params.top = Math.min(100, Math.max(10, Math.ceil(n * 0.02)));
  const out = rankOutliers(perClass, n, CLASS_K).slice(0, params.top);

  progress('pairs', 0, 1);
  const embedBlends =
    params.intrusion === 'images'
      ? (blends: Blend[]) => embedBlendedImages(services, bb.id, blends.map((b) => [images[b.i]!.path, images[b.j]!.path, b.lam] as [string, string, number]), { signal: opts.signal })
      : undefined;
  const pairs = await confusablePairs(oos.probs, n, c, y, x, u, d, global, names, { alpha: params.alpha, seed: params.seed, embedBlends });
  progress('pairs', 1, 1);

  let map: { xy: Float32Array; method: MapMethod } | null = null;
  if (params.map !== 'none') {
    map = await projectMap(u, n, d, global, { seed: params.seed, method: params.map, signal: opts.signal, onEpoch: (done, total) => progress('map', done, total) });
  }
  throwIfCancelled(opts.signal, 'curation');

  const result: CurationResult = {
    dataset: { id: ds.id, name: ds.name },
    backbone: { id: bb.id, name: bb.name },
    images: n,
    embeddings: { computed: embedded.computed, cached: embedded.cached },
    duplicateCheck: { shortlisted: dups.shortlisted, compared: dups.checked, thumbnails },
    skipped,
    labelIssues: li.issues.map((f) => ({
      path: images[f.row]!.relPath,
      given: names[f.given]!,
      suggested: names[f.suggested]!,
      score: round(f.score),
      split: images[f.row]!.split,
    })),
    nearDuplicates: dups.groups
      .map((g) => {
        const classesOf = [...new Set(g.rows.map((r) => images[r]!.className))].sort();
        const splits = [...new Set(g.rows.map((r) => images[r]!.split))].sort();
        return {
          paths: g.rows.map((r) => images[r]!.relPath),
          classes: classesOf,
          splits,
          similarity: round(g.similarity),
          conflict: classesOf.length > 1,
          leak: splits.length > 1,
        };
      })
      // Conflicts first, then leaks, then the larger groups.
      .sort((a, b) => Number(b.conflict) - Number(a.conflict) || Number(b.leak) - Number(a.leak) || b.paths.length - a.paths.length || (a.paths[0]! < b.paths[0]! ? -1 : 1)),
    outliers: out.map((o) => ({ path: images[o.row]!.relPath, class: images[o.row]!.className, score: round(o.score) })),
    pairs: pairs.map((p) => ({
      a: names[p.a]!,
      b: names[p.b]!,
      score: round(p.score),
      confusion: round(p.confusion),
      overlap: round(p.overlap),
      intrusion: p.intrusion === null ? null : round(p.intrusion),
      intruder: p.intruder === null ? null : names[p.intruder]!,
      suggestion: p.suggestion,
      weight: p.weight,
      reason: p.reason,
    })),
    params,
    map: map ? { method: map.method, points: n } : null,
    createdAt: new Date().toISOString(),
    seconds: 0,
  };
  result.seconds = Math.round((performance.now() - started) / 10) / 100;
  saveCuration(db, {
    datasetId: ds.id,
    backboneId: bb.id,
    params,
    result,
    content,
    map: map?.xy ?? null,
    mapPaths: map ? images.map((i) => i.relPath) : null,
  });
  return result;
}

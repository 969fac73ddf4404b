/**
 * `embeddings DATASET --backbone NAME`: every usable image's feature vector, computed once per (content hash,
 * backbone) and kept in the store. Images are decoded (sharp, several at once) for the next batch while
 * onnxruntime embeds the current one; each batch is committed in one transaction, so a killed process leaves
 * whole vectors only and the next call carries on where it stopped.
 */
import os from 'node:os';
import { join } from 'node:path';
import { AppError, cancelled } from '../core/errors';
import { mapLimit } from '../core/map-limit';
import type { Services } from '../core/services';
import { contentHash, readImageFileAsync } from '../datasets/read-file';
import { listUsableImages, markCorruptIfPresent, resolveDataset } from '../datasets/repository';
import { decodePixels, oneLine } from '../training/decode';
import { fixedBatchOf, openOnnx, runFeatures } from './onnx-model';
import { writeInput } from './preprocessing';
import { recipeKey, reduceToThumb } from '../curation/thumb-one';
import { putThumbs } from '../curation/thumb-store';
import { cachedHashes, putEmbeddings, resolveBackbone, type BackboneInfo } from './repository';

export interface EmbedResult {
  dataset: string;
  backbone: string;
  /** Usable images of the dataset. */
  images: number;
  /** Vectors computed by this call (one per distinct image content). */
  computed: number;
  /** Distinct contents whose vector the store already held (computed + cached = the contents embedded). */
  cached: number;
  dim: number;
  seconds: number;
  /** Images that could not be embedded, relative to the dataset root, and why (a corrupt one is marked so). */
  failed: { path: string; reason: string }[];
  /** The onnxruntime execution provider that ran, when anything was computed. */
  provider: string | null;
}

export interface EmbedOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, label: string) => void;
  /** Images per onnxruntime run (default 32, or what the graph fixes). */
  batch?: number;
  /** Threads for onnxruntime (default: every core). */
  threads?: number;
}

/** One image content to embed, and every usable file that holds it (the first that reads is used). */
interface Job {
  hash: string;
  files: { path: string; relPath: string; imageId: number }[];
}

export async function computeEmbeddings(services: Services, datasetRef: string | number, backboneRef: string | number, opts: EmbedOptions = {}): Promise<EmbedResult> {
  const started = performance.now();
  const db = services.db;
  const ds = resolveDataset(db, datasetRef);
  const bb = resolveBackbone(db, backboneRef);
  const images = listUsableImages(db, ds.id);
  const have = cachedHashes(db, bb.id);
  const failed: EmbedResult['failed'] = [];
  const todo = new Map<string, Job>();
  const hit = new Set<string>();
  for (const img of images) {
    if (!img.hash) {
      failed.push({ path: img.relPath, reason: 'no content hash: index the dataset again' });
      continue;
    }
    if (have.has(img.hash)) hit.add(img.hash);
    else {
      const job = todo.get(img.hash) ?? { hash: img.hash, files: [] };
      job.files.push({ path: img.path, relPath: img.relPath, imageId: img.id });
      todo.set(img.hash, job);
    }
  }
  const cached = hit.size;
  const jobs = [...todo.values()];
  let computed = 0;
  let provider: string | null = null;
  if (jobs.length) {
    ({ computed, provider } = await embedJobs(services, bb, jobs, failed, opts));
  }
  return { dataset: ds.name, backbone: bb.name, images: images.length, computed, cached, dim: bb.featureSize, seconds: (performance.now() - started) / 1000, failed, provider };
}

/** The backbone's session and what a batch of its input takes (its preprocessing, values per image, batch). */
async function openBackbone(services: Services, bb: BackboneInfo, opts: { threads?: number; batch?: number }) {
  if (bb.format !== 'onnx') throw new AppError('unsupported', `backbone '${bb.name}' is ${bb.format}: only ONNX backbones embed in this version`);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const { session, provider } = await openOnnx(join(services.paths.home, bb.file), `backbone '${bb.name}' (${bb.file})`, opts.threads ?? cores);
  const p = bb.preprocessing;
  const fixedBatch = fixedBatchOf(session);
  return { session, provider, cores, p, per: p.channels * p.inputSize[0] * p.inputSize[1], fixedBatch, batch: fixedBatch ?? Math.max(1, opts.batch ?? 32) };
}

async function embedJobs(services: Services, bb: BackboneInfo, jobs: Job[], failed: EmbedResult['failed'], opts: EmbedOptions): Promise<{ computed: number; provider: string }> {
  const { session, provider, cores, p, per, fixedBatch, batch } = await openBackbone(services, bb, opts);
  const [h, w] = p.inputSize;
  const thumbRecipe = recipeKey({ inputSize: p.inputSize, channels: p.channels, resize: p.resize });
  const total = jobs.length;
  let done = 0;
  let computed = 0;
  opts.onProgress?.(0, total, `embedding with ${bb.name}`);

  /**
   * The pixels of one content: from the first of its files that reads and still holds that content (a file
   * edited since the index is not embedded under its old hash). Content that does not decode is corrupt in every
   * file that holds it; a file that cannot be read now is only reported (the next call tries it again).
   */
  const decodeJob = async (job: Job): Promise<Uint8Array | null> => {
    const notRead: EmbedResult['failed'] = [];
    for (const f of job.files) {
      const read = await readImageFileAsync(f.path);
      if (!read.ok) {
        notRead.push({ path: f.relPath, reason: read.reason });
        continue;
      }
      if (contentHash(read.buf) !== job.hash) {
        notRead.push({ path: f.relPath, reason: 'changed since the dataset was indexed: index it again' });
        continue;
      }
      try {
        return await decodePixels(read.buf, p.inputSize, p.channels, p.resize);
      } catch (err) {
        const reason = oneLine(err, 'failed to decode');
        for (const g of job.files) {
          markCorruptIfPresent(services.db, g.imageId, reason);
          failed.push({ path: g.relPath, reason });
        }
        return null;
      }
    }
    failed.push(...notRead);
    return null;
  };

  /** Decodes one batch of jobs into a laid-out input; the failures are recorded and left out. */
  const decodeBatch = async (part: Job[]) => {
    const pixels = await mapLimit(part, cores, decodeJob);
    const kept = part.filter((_, i) => pixels[i]);
    // The near-duplicate check's thumbnails, from the pixels decoded here anyway (curation/thumb-one.ts).
    const thumbs = pixels.flatMap((px, i) => (px ? [{ hash: part[i]!.hash, pixels: reduceToThumb(px, h, w, p.channels) }] : []));
    const input = new Float32Array(Math.max(kept.length, fixedBatch ?? 0) * per);
    let slot = 0;
    for (const px of pixels) if (px) writeInput(px, p, input, slot++);
    return { kept, input, thumbs, skipped: part.length - kept.length };
  };

  let next: ReturnType<typeof decodeBatch> | undefined;
  try {
    const parts: Job[][] = [];
    for (let i = 0; i < jobs.length; i += batch) parts.push(jobs.slice(i, i + batch));
    next = decodeBatch(parts[0]!);
    for (let b = 0; b < parts.length; b++) {
      const cur = await next!;
      next = undefined;
      if (opts.signal?.aborted) throw cancelled('embedding');
      // The next batch decodes while onnxruntime runs this one.
      if (b + 1 < parts.length) next = decodeBatch(parts[b + 1]!);
      if (cur.kept.length) {
        const n = fixedBatch ?? cur.kept.length;
        const { features, dim } = await runFeatures({ session, inputName: bb.inputName, outputName: bb.outputName }, cur.input, n, p);
        if (dim !== bb.featureSize) throw new AppError('internal', `backbone '${bb.name}' gave ${dim}-d features, registered as ${bb.featureSize}-d`);
        putEmbeddings(
          services.db,
          bb.id,
          cur.kept.map((job, i) => ({ hash: job.hash, vector: features.slice(i * dim, (i + 1) * dim) })),
        );
        putThumbs(services.db, thumbRecipe, cur.thumbs);
        computed += cur.kept.length;
      }
      done += cur.kept.length + cur.skipped;
      opts.onProgress?.(done, total, `embedding with ${bb.name}`);
    }
    return { computed, provider };
  } finally {
    // A batch still decoding when a run failed: let it end (its own failures are recorded) before the session goes.
    await next?.catch(() => undefined);
    await session.release().catch(() => undefined);
  }
}

/**
 * The backbone's features of blended images: each `[fileA, fileB, λ]` decoded as for its embedding, mixed
 * pixel by pixel (λ·A + (1 − λ)·B, rounded), preprocessed and run. For curation's intrusion measure of runs
 * that mix the images themselves. An image that does not read or decode gives a zero row.
 */
export async function embedBlendedImages(services: Services, backboneRef: string | number, blends: readonly [string, string, number][], opts: { signal?: AbortSignal; batch?: number } = {}): Promise<Float32Array> {
  const bb = resolveBackbone(services.db, backboneRef);
  const { session, cores, p, per, fixedBatch, batch } = await openBackbone(services, bb, opts);
  const pixels = new Map<string, Promise<Uint8Array | null>>();
  const decoded = (file: string) => {
    let got = pixels.get(file);
    if (!got) {
      got = (async () => {
        const read = await readImageFileAsync(file);
        if (!read.ok) return null;
        return decodePixels(read.buf, p.inputSize, p.channels, p.resize).catch(() => null);
      })();
      pixels.set(file, got);
    }
    return got;
  };
  const out = new Float32Array(blends.length * bb.featureSize);
  try {
    for (let start = 0; start < blends.length; start += batch) {
      if (opts.signal?.aborted) throw cancelled('embedding');
      const part = blends.slice(start, start + batch);
      // Decoded pixels live for one batch (an image two blends of it share is decoded once there).
      pixels.clear();
      const input = new Float32Array(Math.max(part.length, fixedBatch ?? 0) * per);
      const ok = await mapLimit(part, cores, async ([a, b, lam], k) => {
        const [pa, pb] = await Promise.all([decoded(a), decoded(b)]);
        if (!pa || !pb) return false;
        const mixed = new Uint8Array(per);
        for (let i = 0; i < per; i++) mixed[i] = Math.round(lam * pa[i]! + (1 - lam) * pb[i]!);
        writeInput(mixed, p, input, k);
        return true;
      });
      const { features, dim } = await runFeatures({ session, inputName: bb.inputName, outputName: bb.outputName }, input, fixedBatch ?? part.length, p);
      part.forEach((_, k) => {
        if (ok[k]) out.set(features.subarray(k * dim, (k + 1) * dim), (start + k) * dim);
      });
    }
  } finally {
    await session.release().catch(() => undefined);
  }
  return out;
}

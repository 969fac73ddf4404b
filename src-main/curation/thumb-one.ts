/**
 * One image's 16×16 grey thumbnail for the near-duplicate check, made from the pixels of a backbone's input
 * (decoded at its size, resize mode and channels) by a box average: the embedding pass makes it from the pixels
 * it has decoded anyway, and the fallback here decodes the same way, so every thumbnail of a recipe is the same
 * function of the image whichever path made it.
 */
import { contentHash, readImageFile } from '../datasets/read-file';
import { decodePixels } from '../training/decode';
import type { ResizeMode } from '../config/preprocessing';

/** Thumbnail side (pixels). */
export const THUMB = 16;

/** How the pixels were brought to the backbone's input before the thumbnail. */
export interface ThumbRecipe {
  inputSize: [number, number];
  channels: 1 | 3;
  resize: ResizeMode;
}

export function recipeKey(r: ThumbRecipe): string {
  return `${r.resize}:${r.inputSize[0]}x${r.inputSize[1]}:${r.channels}`;
}

/** The THUMB × THUMB grey box average of h × w pixels of `channels` (channels last; luma for colour). */
export function reduceToThumb(px: Uint8Array, h: number, w: number, channels: number): Uint8Array {
  const sum = new Float64Array(THUMB * THUMB);
  const count = new Float64Array(THUMB * THUMB);
  for (let y = 0; y < h; y++) {
    const ty = Math.min(THUMB - 1, Math.floor((y * THUMB) / h));
    for (let x = 0; x < w; x++) {
      const tx = Math.min(THUMB - 1, Math.floor((x * THUMB) / w));
      const o = (y * w + x) * channels;
      const v = channels === 1 ? px[o]! : 0.2126 * px[o]! + 0.7152 * px[o + 1]! + 0.0722 * px[o + 2]!;
      sum[ty * THUMB + tx] += v;
      count[ty * THUMB + tx] += 1;
    }
  }
  return Uint8Array.from(sum, (s, i) => Math.round(s / Math.max(1, count[i]!)));
}

export interface ThumbJob {
  hash: string;
  file: string;
  recipe: ThumbRecipe;
}

export type ThumbOutcome = { hash: string; pixels: Uint8Array } | { hash: string; pixels: null; reason: string };

export async function thumbOne(job: ThumbJob): Promise<ThumbOutcome> {
  const read = readImageFile(job.file);
  if (!read.ok) return { hash: job.hash, pixels: null, reason: read.reason };
  // A file edited since the index must not give its new pixels under the old content's hash.
  if (contentHash(read.buf) !== job.hash) return { hash: job.hash, pixels: null, reason: 'changed since the dataset was indexed: index it again' };
  try {
    const { inputSize: [h, w], channels, resize } = job.recipe;
    return { hash: job.hash, pixels: reduceToThumb(await decodePixels(read.buf, [h, w], channels, resize), h, w, channels) };
  } catch (err) {
    return { hash: job.hash, pixels: null, reason: (err as Error).message };
  }
}

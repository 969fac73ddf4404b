/**
 * Thumbnails: 128-px WebP files in the home's thumbs folder, named by the image's content hash (so
 * duplicates share one and a moved file keeps its thumbnail). Made from the same decode the verify pass does.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jpegOrientation } from './probe';

export const THUMB_SIZE = 128;

/** Path of a thumbnail relative to the thumbs folder. */
export function thumbName(hash: string): string {
  return join(hash.slice(0, 2), `${hash}.webp`);
}

/**
 * Decodes `input` fully (sharp fails on truncated data and decoder warnings) and writes the thumbnail.
 * For JPEG, libvips shrinks on load (reduced DCT scale) because the target is small; the whole entropy
 * stream is still read. Throws with the decoder's message when the image does not decode.
 */
export async function writeThumbnail(input: Buffer, outFile: string): Promise<{ width: number; height: number; channels: number }> {
  const sharp = (await import('sharp')).default;
  let img = sharp(input, { failOn: 'warning', sequentialRead: true, pages: 1 });
  // Auto-orient by EXIF; upright JPEGs (the usual case) skip that step.
  const isJpeg = input[0] === 0xff && input[1] === 0xd8;
  if (!isJpeg || jpegOrientation(input) !== 1) img = img.rotate();
  const { data, info } = await img
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, effort: 0 })
    .toBuffer({ resolveWithObject: true });
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(tmp, data);
  renameSync(tmp, outFile);
  return { width: info.width, height: info.height, channels: info.channels };
}

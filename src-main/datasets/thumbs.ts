/**
 * Thumbnails: 128-px WebP files in the home's thumbs folder, named by the image's content hash (so
 * duplicates share one and a moved file keeps its thumbnail). Made from the same decode the verify pass does.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sweepDeadTemps, tempPathFor } from '../core/temp-files';
import { fastThumbnailer } from './fast-thumb';
import { jpegOrientation } from './jpeg-orientation';

export const THUMB_SIZE = 128;
/** WebP quality of thumbnails (both paths; the fastest encoder method). */
export const THUMB_QUALITY = 75;

/** Thumbnail folders this thread already made (saves a mkdir per image). */
const madeDirs = new Set<string>();

/**
 * Thumbnails are written into THUMBS/.tmp and renamed into place, so that what a killed verify leaves behind is
 * in one small folder; the first thumbnail this thread writes there removes the leftovers of dead processes.
 */
export const THUMB_TEMP_DIR = '.tmp';
const sweptTempDirs = new Set<string>();

function thumbTempDir(outFile: string): string {
  const dir = join(dirname(dirname(outFile)), THUMB_TEMP_DIR);
  if (!sweptTempDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    sweepDeadTemps(dir);
    sweptTempDirs.add(dir);
  }
  return dir;
}

/** Path of a thumbnail relative to the thumbs folder. */
export function thumbName(hash: string): string {
  return join(hash.slice(0, 2), `${hash}.webp`);
}

/** A decode failure: the image is corrupt (as opposed to a failure writing the thumbnail, which is not). */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

/**
 * Decodes `input` fully and writes the thumbnail from that decode. Plain JPEGs go through the fast path
 * (fast-thumb.ts: libjpeg-turbo at the reduced DCT scale the thumbnail needs, on this thread); everything else,
 * and any JPEG that path does not take or that gives it a warning, goes through sharp, whose verdict stands.
 * Either way the whole entropy stream is read. Throws DecodeError with the decoder's message when the image
 * does not decode; any other error (writing the file) is thrown as is.
 */
export async function writeThumbnail(input: Buffer, outFile: string): Promise<{ width: number; height: number; channels: number }> {
  let out: { data: Uint8Array; info: { width: number; height: number; channels: number } } | undefined;
  const isJpeg = input[0] === 0xff && input[1] === 0xd8;
  if (isJpeg) {
    const fast = await fastThumbnailer();
    const t = fast?.thumbnail(input, THUMB_SIZE, THUMB_QUALITY);
    if (t) out = { data: t.data, info: { width: t.width, height: t.height, channels: 3 } };
  }
  if (!out) out = await sharpThumbnail(input, isJpeg);
  const dir = dirname(outFile);
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  // Written aside and renamed: a reader never sees half a thumbnail.
  let tmp = tempPathFor(join(thumbTempDir(outFile), basename(outFile)), true);
  try {
    try {
      writeFileSync(tmp, out.data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The folders went away (thumbnails cleared while running): make them again.
      sweptTempDirs.clear();
      madeDirs.clear();
      mkdirSync(dir, { recursive: true });
      tmp = tempPathFor(join(thumbTempDir(outFile), basename(outFile)), true);
      writeFileSync(tmp, out.data);
    }
    renameSync(tmp, outFile);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { width: out.info.width, height: out.info.height, channels: out.info.channels };
}

/**
 * The sharp path: decoder warnings fail (failOn), EXIF orientation is applied, and JPEGs shrink on load
 * because the target is small.
 */
async function sharpThumbnail(input: Buffer, isJpeg: boolean): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }> {
  const sharp = (await import('sharp')).default;
  try {
    let img = sharp(input, { failOn: 'warning', sequentialRead: true });
    // Auto-orient by EXIF; upright JPEGs (the usual case) skip that step.
    if (!isJpeg || jpegOrientation(input) !== 1) img = img.rotate();
    return await img
      .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: THUMB_QUALITY, effort: 0 })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new DecodeError((err as Error).message.split('\n')[0]);
  }
}

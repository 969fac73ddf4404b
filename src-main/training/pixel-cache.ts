/**
 * The on-disk pixel cache: `<cacheDir>/pixels/<h>x<w>x<c>-fill/<hh>/<hash>.u8`, one file of decoded uint8
 * pixels per image, keyed by the image's content hash and the preprocessing, so later runs do not decode again.
 * Each file is written as `<hash>.u8.PID.RANDOM.tmp` and renamed into place; a failed write removes its temp
 * file, and the next build removes the temp files of writers that died (never those of a live one: two
 * trainings of one dataset may fill one cache at once, each rename putting the same bytes in place).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sweepDeadTemps, tempPathFor } from '../core/temp-files';

/** The cache folder of one preprocessing (input size and channels) under the home's cache folder. */
export function pixelCacheDir(cacheDir: string, inputSize: [number, number], channels: 1 | 3): string {
  return join(cacheDir, 'pixels', `${inputSize[0]}x${inputSize[1]}x${channels}-fill`);
}

/** The cache file of an image in `dir`: by its content hash when it has a clean one, else by its path. */
export function pixelCacheFile(dir: string, item: { path: string; hash?: string | null }): string {
  const key = cacheKey(item);
  return join(dir, key.slice(0, 2), `${key}.u8`);
}

function cacheKey(item: { path: string; hash?: string | null }): string {
  return item.hash && /^[0-9a-zA-Z]+$/.test(item.hash) ? item.hash : createHash('sha1').update(item.path).digest('hex');
}

/** Writes beside and renames (a reader never sees half a file); a failed write leaves no temp file behind. */
export function writeAtomic(file: string, data: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  // Unique per writer: the decode worker threads of one process share its pid.
  const tmp = tempPathFor(file, true);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Cache folders whose dead writers' temp files this process has removed already. */
const sweptCacheDirs = new Set<string>();

/** Removes the temp files that writers which died left in a pixel cache folder (`<dir>/<hh>/`). */
export function sweepCacheTemps(dir: string): void {
  if (sweptCacheDirs.has(dir)) return;
  sweptCacheDirs.add(dir);
  let subdirs: string[];
  try {
    subdirs = readdirSync(dir);
  } catch {
    return;
  }
  for (const sub of subdirs) if (sub.length === 2) sweepDeadTemps(join(dir, sub));
}

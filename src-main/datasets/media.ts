/**
 * Files the UI shows for an image: its thumbnail (made on demand when the verify pass has not made it
 * yet) or the original. Served by the app:// protocol and `serve`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../core/errors';
import type { Services } from '../core/services';
import { contentHash, readImageFileAsync } from './read-file';
import { getImage, markCorrupt } from './repository';
import { DecodeError, thumbName, writeThumbnail } from './thumbs';

const CONTENT_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
};

/** The bytes to answer with: read whole here (bounded), so what is sent is what was checked. */
export interface Media {
  data: Buffer;
  contentType: string;
}

/**
 * The thumbnail or the original of image `imageId`. The original is served only as indexed: an image marked
 * corrupt is not served, and the file is read with the one bounded read (a regular file under the size cap;
 * a FIFO or a device is refused at once, never waited on) and must still hash to what the scan recorded, so a
 * file swapped since (for a link to /etc/passwd, say) is refused, not sent.
 */
export async function resolveMedia(services: Services, kind: 'thumb' | 'image', imageId: number): Promise<Media> {
  if (!Number.isInteger(imageId) || imageId <= 0) throw new AppError('not-found', `no image with id ${imageId}`);
  const img = getImage(services.db, imageId);
  if (img.status === 'corrupt') throw new AppError('not-found', `image ${img.relPath} is corrupt: ${img.reason ?? ''}`);
  if (kind === 'image') {
    if (!img.hash) throw new AppError('not-found', `image ${img.relPath} has no content hash yet (rescan the dataset)`);
    const read = await readImageFileAsync(img.path);
    if (!read.ok) {
      const why = read.failure === 'missing' ? 'is gone (rescan the dataset)' : `cannot be served: ${read.reason}`;
      throw new AppError(read.failure === 'missing' ? 'not-found' : 'io', `image file ${img.path} ${why}`);
    }
    if (contentHash(read.buf) !== img.hash) {
      throw new AppError('conflict', `image file ${img.path} changed since it was indexed: rescan the dataset to see it`);
    }
    return { data: read.buf, contentType: CONTENT_TYPES[img.format ?? ''] ?? 'application/octet-stream' };
  }
  if (!img.hash) throw new AppError('not-found', `image ${img.relPath} has no content hash yet (rescan the dataset)`);
  const name = img.thumb ?? thumbName(img.hash);
  const file = join(services.paths.thumbs, name);
  if (!existsSync(file)) {
    // A bounded read: a file too large to be decoded is a verdict on the image; any other read failure is not.
    const read = await readImageFileAsync(img.path);
    if (!read.ok && read.failure === 'too-large') {
      markCorrupt(services.db, imageId, read.reason);
      throw new AppError('corrupt', `${img.relPath}: ${read.reason}`);
    }
    if (!read.ok) throw new AppError('not-found', `${img.path}: ${read.reason}`);
    try {
      await writeThumbnail(read.buf, file);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw new AppError('io', `cannot write thumbnail ${file}: ${(err as Error).message}`);
      const reason = `decode failed: ${err.message}`;
      markCorrupt(services.db, imageId, reason);
      throw new AppError('corrupt', `${img.relPath}: ${reason}`);
    }
    services.db.prepare('UPDATE images SET thumb = ?, verified = 1 WHERE id = ?').run(name, imageId);
  }
  return { data: await readFile(file), contentType: 'image/webp' };
}

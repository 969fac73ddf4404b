/**
 * Files the UI shows for an image: its thumbnail (made on demand when the verify pass has not made it
 * yet) or the original. Served by the app:// protocol and `serve`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../api/errors';
import type { Services } from '../core/services';
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

export async function resolveMedia(
  services: Services,
  kind: 'thumb' | 'image',
  imageId: number,
): Promise<{ file: string; contentType: string }> {
  if (!Number.isInteger(imageId) || imageId <= 0) throw new AppError('not-found', `no image with id ${imageId}`);
  const img = getImage(services.db, imageId);
  if (kind === 'image') {
    if (!existsSync(img.path)) throw new AppError('not-found', `image file ${img.path} is gone (rescan the dataset)`);
    return { file: img.path, contentType: CONTENT_TYPES[img.format ?? ''] ?? 'application/octet-stream' };
  }
  if (img.status === 'corrupt') throw new AppError('not-found', `image ${img.relPath} is corrupt: ${img.reason ?? ''}`);
  if (!img.hash) throw new AppError('not-found', `image ${img.relPath} has no content hash yet (rescan the dataset)`);
  const name = img.thumb ?? thumbName(img.hash);
  const file = join(services.paths.thumbs, name);
  if (!existsSync(file)) {
    let input: Buffer;
    try {
      input = readFileSync(img.path);
    } catch (err) {
      throw new AppError('not-found', `cannot read ${img.path}: ${(err as Error).message}`);
    }
    try {
      await writeThumbnail(input, file);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw new AppError('io', `cannot write thumbnail ${file}: ${(err as Error).message}`);
      const reason = `decode failed: ${err.message}`;
      markCorrupt(services.db, imageId, reason);
      throw new AppError('corrupt', `${img.relPath}: ${reason}`);
    }
    services.db.prepare('UPDATE images SET thumb = ?, verified = 1 WHERE id = ?').run(name, imageId);
  }
  return { file, contentType: 'image/webp' };
}

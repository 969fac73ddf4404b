/** One image through the verify pass: read, decode, thumbnail. Shared by the worker and the inline path. */
import { readImageFile } from './read-file';
import { DecodeError, writeThumbnail } from './thumbs';

export interface VerifyItem {
  id: number;
  file: string;
  thumbFile: string;
}

/**
 * `ok: false` is a verdict on the image (it does not decode, or it is too large to): it becomes corrupt.
 * `unreadable` is no verdict: the file could not be read this time (EACCES, EIO, gone...), and stays unverified.
 */
export type VerifyOutcome =
  | { id: number; ok: true }
  | { id: number; ok: false; reason: string }
  | { id: number; ok: false; unreadable: true; reason: string };

export async function verifyOne(item: VerifyItem): Promise<VerifyOutcome> {
  // Worker threads (and small inline batches) read synchronously: one call instead of four pool round trips.
  const read = readImageFile(item.file);
  if (!read.ok) {
    if (read.failure === 'too-large') return { id: item.id, ok: false, reason: read.reason };
    return { id: item.id, ok: false, unreadable: true, reason: read.reason };
  }
  try {
    await writeThumbnail(read.buf, item.thumbFile);
    return { id: item.id, ok: true };
  } catch (err) {
    if (err instanceof DecodeError) return { id: item.id, ok: false, reason: `decode failed: ${err.message}` };
    // Not the image's fault (e.g. the home's disk is full): the pass stops, nothing is marked corrupt.
    throw new Error(`cannot write the thumbnail ${item.thumbFile}: ${(err as Error).message}`);
  }
}

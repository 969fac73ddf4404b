/** One image through the verify pass: read, decode, thumbnail. Shared by the worker and the inline path. */
import { readFileSync } from 'node:fs';
import { DecodeError, writeThumbnail } from './thumbs';

export interface VerifyItem {
  id: number;
  file: string;
  thumbFile: string;
}

export type VerifyOutcome = { id: number; ok: true } | { id: number; ok: false; reason: string };

export async function verifyOne(item: VerifyItem): Promise<VerifyOutcome> {
  let input: Buffer;
  try {
    // Worker threads (and small inline batches) read synchronously: one call instead of four pool round trips.
    input = readFileSync(item.file);
  } catch (err) {
    return { id: item.id, ok: false, reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  try {
    await writeThumbnail(input, item.thumbFile);
    return { id: item.id, ok: true };
  } catch (err) {
    if (err instanceof DecodeError) return { id: item.id, ok: false, reason: `decode failed: ${err.message}` };
    // Not the image's fault (e.g. the home's disk is full): the pass stops, nothing is marked corrupt.
    throw new Error(`cannot write the thumbnail ${item.thumbFile}: ${(err as Error).message}`);
  }
}

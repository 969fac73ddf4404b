/** One image through the verify pass: read, decode, thumbnail. Shared by the worker and the inline path. */
import { readFile } from 'node:fs/promises';
import { writeThumbnail } from './thumbs';

export interface VerifyItem {
  id: number;
  file: string;
  thumbFile: string;
}

export type VerifyOutcome = { id: number; ok: true } | { id: number; ok: false; reason: string };

export async function verifyOne(item: VerifyItem): Promise<VerifyOutcome> {
  let input: Buffer;
  try {
    input = await readFile(item.file);
  } catch (err) {
    return { id: item.id, ok: false, reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  try {
    await writeThumbnail(input, item.thumbFile);
    return { id: item.id, ok: true };
  } catch (err) {
    return { id: item.id, ok: false, reason: `decode failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

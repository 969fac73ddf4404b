/** Reading one file for the scan: its bytes once, the content hash and the header probe from them. */
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { probeImage, type ProbeResult } from './probe';

export type FileReport = { hash: string | null } & ProbeResult;

const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: string) => string }).hash;

export function contentHash(buf: Buffer): string {
  return oneShot ? oneShot('sha1', buf, 'hex') : crypto.createHash('sha1').update(buf).digest('hex');
}

export function readAndProbe(file: string): FileReport {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { hash: null, ok: false, reason: `cannot read: ${e.code ?? e.message}` };
  }
  return { hash: contentHash(buf), ...probeImage(buf) };
}

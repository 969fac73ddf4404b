/** Reading one file for the scan: its bytes once, the content hash and the header probe from them. */
import * as crypto from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { probeImage, type ProbeResult } from './probe';

/** What the scan learns from one read: size and mtime (from the open file), hash and probe. */
export type FileReport = { hash: string | null; size: number; mtimeMs: number; missing?: boolean } & ProbeResult;

const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: string) => string }).hash;

export function contentHash(buf: Buffer): string {
  return oneShot ? oneShot('sha1', buf, 'hex') : crypto.createHash('sha1').update(buf).digest('hex');
}

/** Opens, fstats and reads the file once (no separate stat), then hashes and probes the bytes. */
export function readAndProbe(file: string): FileReport {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { hash: null, size: 0, mtimeMs: 0, missing: e.code === 'ENOENT', ok: false, reason: `cannot read: ${e.code ?? e.message}` };
  }
  let buf: Buffer;
  let size: number;
  let mtimeMs: number;
  try {
    const st = fstatSync(fd);
    size = st.size;
    mtimeMs = st.mtimeMs;
    buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off < size) buf = buf.subarray(0, off);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { hash: null, size: 0, mtimeMs: 0, ok: false, reason: `cannot read: ${e.code ?? e.message}` };
  } finally {
    closeSync(fd);
  }
  return { hash: contentHash(buf), size, mtimeMs, ...probeImage(buf) };
}

/**
 * Reading image files: one bounded read (never more than MAX_IMAGE_BYTES in memory), shared by the scan, the
 * verify pass, the media route and training's decode, so that every one of them tells the same three kinds of
 * failure apart:
 * - the file is gone (`missing`): it vanished since it was listed;
 * - the file cannot be read (`unreadable`: EACCES, EISDIR, EIO, not a regular file...): a passing condition,
 *   never recorded as corruption, tried again on the next pass;
 * - the file is too large to be an image we decode (`too-large`): a property of its content, so it is marked
 *   corrupt like a file that fails to decode.
 * The scan's own step (readAndProbe) then hashes and probes the bytes.
 */
import * as crypto from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { probeImage, type ProbeResult } from './probe';

/**
 * The largest image file read (256 MiB): far above any photo or scan a classifier trains on, and low enough
 * that a few parallel readers stay within memory. Bigger files are marked corrupt without being read.
 */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/**
 * The largest pixel count decoded: sharp's own default `limitInputPixels` (0x3FFF², ~268 megapixels). The scan
 * checks it from the header, so an image that claims more is marked corrupt before anything tries to decode it.
 */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;

export type ImageReadFailure = 'missing' | 'unreadable' | 'too-large';

export type ImageRead =
  | { ok: true; buf: Buffer; size: number; mtimeMs: number }
  | { ok: false; failure: ImageReadFailure; reason: string; size: number; mtimeMs: number };

/** What the scan learns from one read: size and mtime (from the open file), hash and probe. */
export type FileReport = { hash: string | null; size: number; mtimeMs: number; missing?: boolean; unreadable?: boolean } & ProbeResult;

const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: string) => string }).hash;

export function contentHash(buf: Buffer): string {
  return oneShot ? oneShot('sha1', buf, 'hex') : crypto.createHash('sha1').update(buf).digest('hex');
}

const MB = 1024 * 1024;
// Without blocking: opening a FIFO (or a device) under an image's name must not hang the reader. No effect on
// regular files; the fstat check then refuses anything else.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function tooLarge(size: number, limit: number): string {
  return `file too large (${Math.round(size / MB)} MB, the limit is ${Math.round(limit / MB)} MB)`;
}

function openFailure(err: unknown): ImageRead & { ok: false } {
  const e = err as NodeJS.ErrnoException;
  return { ok: false, failure: e.code === 'ENOENT' ? 'missing' : 'unreadable', reason: `cannot read: ${e.code ?? e.message}`, size: 0, mtimeMs: 0 };
}

/** A folder or a device where an image was listed: unreadable as an image, in the words errno would use. */
function notAFile(st: Stats): ImageRead & { ok: false } {
  return { ok: false, failure: 'unreadable', reason: `cannot read: ${st.isDirectory() ? 'EISDIR (a folder)' : 'not a regular file'}`, size: 0, mtimeMs: 0 };
}

/** A read failure as a decode error message: the reason, plus what the caller should make of it. */
export class ImageReadError extends Error {
  override name = 'ImageReadError';
  constructor(
    readonly failure: ImageReadFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the whole image file, up to `limit` bytes (synchronously: the scan's and verify's worker threads). */
export function readImageFile(file: string, limit = MAX_IMAGE_BYTES): ImageRead {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    return openFailure(err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return notAFile(st);
    if (st.size > limit) return { ok: false, failure: 'too-large', reason: tooLarge(st.size, limit), size: st.size, mtimeMs: st.mtimeMs };
    let buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off < st.size) buf = buf.subarray(0, off);
    return { ok: true, buf, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    return openFailure(err);
  } finally {
    closeSync(fd);
  }
}

/** readImageFile on libuv's thread pool (training's decode and the media route run on an event loop). */
export async function readImageFileAsync(file: string, limit = MAX_IMAGE_BYTES): Promise<ImageRead> {
  let fh;
  try {
    fh = await open(file, OPEN_FLAGS);
  } catch (err) {
    return openFailure(err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return notAFile(st);
    if (st.size > limit) return { ok: false, failure: 'too-large', reason: tooLarge(st.size, limit), size: st.size, mtimeMs: st.mtimeMs };
    let buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off < st.size) buf = buf.subarray(0, off);
    return { ok: true, buf, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    return openFailure(err);
  } finally {
    await fh.close();
  }
}

/**
 * Opens, fstats and reads the file once (no separate stat), then hashes and probes the bytes. A file that
 * cannot be read comes back `unreadable` (the scan records no verdict for it); one too large, or whose header
 * claims more than MAX_IMAGE_PIXELS, comes back corrupt with the reason.
 */
export function readAndProbe(file: string): FileReport {
  const r = readImageFile(file);
  if (!r.ok) {
    const base = { hash: null, size: r.size, mtimeMs: r.mtimeMs, ok: false as const, reason: r.reason };
    if (r.failure === 'missing') return { ...base, missing: true };
    if (r.failure === 'unreadable') return { ...base, unreadable: true };
    return base;
  }
  const probe = probeImage(r.buf);
  if (probe.ok && probe.width * probe.height > MAX_IMAGE_PIXELS) {
    const reason = `image too large (${probe.width}×${probe.height} pixels, the limit is ${Math.round(MAX_IMAGE_PIXELS / 1e6)} megapixels)`;
    return { hash: contentHash(r.buf), size: r.size, mtimeMs: r.mtimeMs, ok: false, format: probe.format, reason };
  }
  return { hash: contentHash(r.buf), size: r.size, mtimeMs: r.mtimeMs, ...probe };
}

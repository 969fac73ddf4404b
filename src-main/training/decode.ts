/**
 * Decoding one image for training: sharp reads the file (a bounded read), resizes it to `inputSize` ('fill'),
 * drops alpha and makes it grey or sRGB, giving `h·w·c` uint8 pixels. `decodeToCache` is what the decode
 * workers (./decode-worker.ts) and the in-thread decoder run: it also writes the pixel cache file, and says
 * why an image failed instead of throwing.
 */
import { ImageReadError, readImageFileAsync } from '../datasets/read-file';
import type { ResizeMode } from '../config/preprocessing';
import { writeAtomic } from './pixel-cache';

/** One image for a decode worker: where it is, where its cache file goes ('' = none), the target format. */
export interface DecodeJob {
  path: string;
  cacheFile: string;
  inputSize: [number, number];
  channels: 1 | 3;
}

/** Why an image was left out: it does not decode (corrupt), its file is gone, or it could not be read now. */
export type LeftOutCause = 'corrupt' | 'vanished' | 'unreadable';

export interface DecodeOutcome {
  pixels: Uint8Array | null;
  error: string | null;
  /** With `error`: what kind of failure it was. */
  cause?: LeftOutCause;
  /** The pixels decoded but their cache file could not be written (the reason). */
  cacheError?: string;
}

/** An error's message on one line, or `fallback` when it has none. */
export const oneLine = (err: unknown, fallback: string) => (err as Error).message.replace(/\s+/g, ' ').trim() || fallback;

/** Decodes one image and writes it to its cache file; never throws (the failure and its cause come back). */
export async function decodeToCache(job: DecodeJob): Promise<DecodeOutcome> {
  let pixels: Uint8Array;
  try {
    pixels = await decodeImage(job.path, job.inputSize, job.channels);
  } catch (err) {
    const cause: LeftOutCause =
      err instanceof ImageReadError && err.failure !== 'too-large' ? (err.failure === 'missing' ? 'vanished' : 'unreadable') : 'corrupt';
    return { pixels: null, error: oneLine(err, 'failed to decode'), cause };
  }
  if (job.cacheFile) {
    try {
      writeAtomic(job.cacheFile, pixels);
    } catch (err) {
      // The cache is not the image: a full disk is no reason to call the image corrupt.
      return { pixels, error: null, cacheError: oneLine(err, 'write failed') };
    }
  }
  return { pixels, error: null };
}


/**
 * Decodes one image file to `h·w·c` uint8 pixels (`resize`, 'fill' by default; alpha dropped, grey or sRGB). The file is read
 * by a bounded read (../datasets/read-file.ts): a failure to read it throws ImageReadError, which says whether
 * the file is gone, unreadable or too large; a failure to decode throws sharp's error.
 */
export async function decodeImage(file: string, inputSize: [number, number], channels: 1 | 3, resize: ResizeMode = 'fill'): Promise<Uint8Array> {
  const read = await readImageFileAsync(file);
  if (!read.ok) throw new ImageReadError(read.failure, read.reason);
  return decodePixels(read.buf, inputSize, channels, resize);
}

/** decodeImage of bytes already read (the caller checked them, e.g. against the content hash it expects). */
export async function decodePixels(buf: Buffer, inputSize: [number, number], channels: 1 | 3, resize: ResizeMode = 'fill'): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp');
  const [h, w] = inputSize;
  const fit = resize === 'center-crop' ? { fit: 'cover' as const, position: 'centre' } : { fit: 'fill' as const };
  let pipe = sharp(buf, { failOn: 'error' }).removeAlpha().resize(w, h, fit);
  pipe = channels === 1 ? pipe.greyscale() : pipe.toColourspace('srgb');
  const { data, info } = await pipe.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h) throw new Error(`resized to ${info.width}×${info.height}, expected ${w}×${h}`);
  const px = h * w;
  if (info.channels === channels) return new Uint8Array(data.buffer, data.byteOffset, px * channels).slice();
  const out = new Uint8Array(px * channels);
  const ic = info.channels;
  for (let i = 0; i < px; i++) {
    if (channels === 3) {
      const g = data[i * ic];
      out[i * 3] = g;
      out[i * 3 + 1] = ic >= 3 ? data[i * ic + 1] : g;
      out[i * 3 + 2] = ic >= 3 ? data[i * ic + 2] : g;
    } else {
      out[i] = ic >= 3 ? Math.round(0.2126 * data[i * ic] + 0.7152 * data[i * ic + 1] + 0.0722 * data[i * ic + 2]) : data[i * ic];
    }
  }
  return out;
}

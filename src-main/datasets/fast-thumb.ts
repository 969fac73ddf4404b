/**
 * The fast thumbnail path for plain JPEGs (the usual photo): libjpeg-turbo compiled to WebAssembly
 * (@cwasm/jpeg-turbo) decodes at the reduced DCT scale the thumbnail needs (1/2, 1/4 or 1/8: every entropy-coded
 * block is still read and checked, only the inverse DCT is smaller), an area filter brings the result to the
 * thumbnail's size, and libwebp compiled to WebAssembly (@jsquash/webp) encodes it.
 *
 * Why not sharp for these: a sharp call hands its work between threads many times per image (libuv, then
 * libvips' own pool, strip by strip), and on a small VM each hand-off costs tens of microseconds; a 640x480
 * JPEG took ~6 ms through sharp and ~2.7 ms through this path, all of it synchronous on the calling thread
 * (the verify pass runs one such thread per core).
 *
 * This path only accelerates; it never decides that an image is corrupt. Anything it does not take (EXIF
 * rotation, an embedded ICC profile, CMYK, 12-bit, lossless or arithmetic-coded JPEG) or any decoder
 * warning or error returns `undefined`, and the caller goes through sharp, whose verdict and message stand.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { jpegOrientation } from './jpeg-orientation';
import { APP2, EOI, isFrameMarker, jpegSegments, SOS } from './jpeg-segments';

const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

/** What the JPEG's markers say before any decoding: whether the fast path may take it, and why not. */
export interface JpegTraits {
  width: number;
  height: number;
  /** Why the fast path leaves it to sharp; undefined when it may take it. */
  skip?: string;
}

/**
 * Reads the JPEG markers up to the first scan. Takes baseline, extended and progressive Huffman-coded 8-bit
 * JPEGs with 1 or 3 components, upright (EXIF orientation 1) and without an ICC profile (sharp converts
 * those to sRGB; this path would not).
 */
export function jpegTraits(b: Uint8Array): JpegTraits {
  const out: JpegTraits = { width: 0, height: 0 };
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return { ...out, skip: 'not a JPEG' };
  if (jpegOrientation(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 1) return { ...out, skip: 'EXIF rotation' };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let sof = false;
  for (const s of jpegSegments(b)) {
    if ('problem' in s) {
      // A length below 2 puts the next marker where no 0xFF is.
      if (s.problem === 'no-marker' || s.problem === 'bad-length') return { ...out, skip: 'marker expected' };
      break;
    }
    const m = s.marker;
    if (m === SOS) break;
    if (m === EOI) return { ...out, skip: 'no image data' };
    const seg = s.offset + 2;
    if (isFrameMarker(m)) {
      if (m !== 0xc0 && m !== 0xc1 && m !== 0xc2) return { ...out, skip: `JPEG process SOF${m - 0xc0}` };
      if (seg + 6 > b.length) return { ...out, skip: 'short frame header' };
      if (b[seg] !== 8) return { ...out, skip: `${b[seg]}-bit samples` };
      out.height = view.getUint16(seg + 1);
      out.width = view.getUint16(seg + 3);
      const comps = b[seg + 5];
      if (comps !== 1 && comps !== 3) return { ...out, skip: `${comps} components` };
      sof = true;
    } else if (m === APP2 && s.length >= 16 && String.fromCharCode(...b.subarray(seg, seg + 11)) === 'ICC_PROFILE') {
      return { ...out, skip: 'embedded ICC profile' };
    }
  }
  if (!sof || out.width === 0 || out.height === 0) return { ...out, skip: 'no frame header' };
  return out;
}

/** Size of a thumbnail that fits inside `max` x `max`, keeping the aspect ratio, never enlarging. */
export function thumbSize(width: number, height: number, max: number): { width: number; height: number } {
  if (width <= max && height <= max) return { width, height };
  const s = max / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/**
 * The decode scale 1/k (k in 8, 4, 2, 1) with the fewest pixels that is still at least the thumbnail's size,
 * so the area filter only ever shrinks.
 */
export function decodeScale(width: number, height: number, tw: number, th: number): number {
  for (const k of [8, 4, 2]) if (Math.ceil(width / k) >= tw && Math.ceil(height / k) >= th) return k;
  return 1;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weight: Float32Array;
  stride: number;
}

/** For each output sample, the input samples it covers and their share of it (a box/area filter). */
function areaTaps(n: number, out: number): Taps {
  const f = n / out;
  const start = new Int32Array(out);
  const count = new Int32Array(out);
  let stride = 1;
  for (let o = 0; o < out; o++) {
    const a = o * f;
    start[o] = Math.floor(a);
    count[o] = Math.min(n, Math.ceil(a + f)) - start[o];
    stride = Math.max(stride, count[o]);
  }
  const weight = new Float32Array(out * stride);
  for (let o = 0; o < out; o++) {
    const a = o * f;
    const b = a + f;
    for (let k = 0; k < count[o]; k++) {
      const i = start[o] + k;
      weight[o * stride + k] = (Math.min(b, i + 1) - Math.max(a, i)) / f;
    }
  }
  return { start, count, weight, stride };
}

/**
 * Shrinks packed RGB to RGBA (alpha 255) with an area filter: each output pixel is the mean of the input area it
 * covers. Separable: rows first, then columns. Equal sizes copy.
 */
export function areaResizeRgbToRgba(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(dw * dh * 4);
  if (sw === dw && sh === dh) {
    for (let i = 0, o = 0; i < sw * sh * 3; i += 3, o += 4) {
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
      out[o + 3] = 255;
    }
    return out;
  }
  const tx = areaTaps(sw, dw);
  const ty = areaTaps(sh, dh);
  const tmp = new Float32Array(dw * sh * 3);
  for (let y = 0; y < sh; y++) {
    const row = y * sw * 3;
    let o = y * dw * 3;
    for (let x = 0; x < dw; x++, o += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      const n = tx.count[x];
      const base = x * tx.stride;
      let p = row + tx.start[x] * 3;
      for (let k = 0; k < n; k++, p += 3) {
        const w = tx.weight[base + k];
        r += src[p] * w;
        g += src[p + 1] * w;
        b += src[p + 2] * w;
      }
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  const step = dw * 3;
  for (let y = 0; y < dh; y++) {
    const n = ty.count[y];
    const base = y * ty.stride;
    let o = y * dw * 4;
    for (let x = 0; x < dw; x++, o += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      let p = ty.start[y] * step + x * 3;
      for (let k = 0; k < n; k++, p += step) {
        const w = ty.weight[base + k];
        r += tmp[p] * w;
        g += tmp[p + 1] * w;
        b += tmp[p + 2] * w;
      }
      // Uint8ClampedArray rounds to nearest on store.
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = 255;
    }
  }
  return out;
}

interface TurboExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  tjInitDecompress(): number;
  tjDestroy(h: number): number;
  tjDecompressHeader3(h: number, buf: number, size: number, w: number, hgt: number, samp: number, cs: number): number;
  tjDecompress2(h: number, buf: number, size: number, dst: number, w: number, pitch: number, hgt: number, pf: number, flags: number): number;
}

const TJPF_RGB = 0;

/** A libjpeg-turbo WebAssembly instance. libjpeg's fatal errors long-jump; here that throws, and the instance is dropped. */
class JpegTurbo {
  private x: TurboExports | undefined;
  constructor(private readonly module: WebAssembly.Module) {}

  private exports(): TurboExports {
    if (this.x) return this.x;
    const fail = (what: string) => () => {
      throw new Error(`libjpeg-turbo (wasm) called ${what}`);
    };
    const instance = new WebAssembly.Instance(this.module, {
      env: {
        setjmp: () => 0,
        longjmp: () => {
          throw new Error('libjpeg-turbo (wasm): fatal decode error');
        },
      },
      wasi_snapshot_preview1: {
        proc_exit: fail('proc_exit'),
        environ_sizes_get: () => 0,
        environ_get: fail('environ_get'),
        fd_close: fail('fd_close'),
        fd_seek: fail('fd_seek'),
        // libjpeg prints warnings to stderr; the return status already says there was one.
        fd_write: () => 0,
      },
    });
    this.x = instance.exports as unknown as TurboExports;
    return this.x;
  }

  /** Decodes at 1/k scale to packed RGB; undefined on any error or warning. */
  decode(input: Uint8Array, k: number, width: number, height: number): { rgb: Uint8Array; width: number; height: number } | undefined {
    let x: TurboExports;
    try {
      x = this.exports();
    } catch {
      return undefined;
    }
    const ow = Math.ceil(width / k);
    const oh = Math.ceil(height / k);
    let handle = 0;
    let inp = 0;
    let meta = 0;
    let dst = 0;
    try {
      handle = x.tjInitDecompress();
      inp = x.malloc(input.byteLength);
      meta = x.malloc(16);
      dst = x.malloc(ow * oh * 3);
      if (!handle || !inp || !meta || !dst) return undefined;
      new Uint8Array(x.memory.buffer, inp, input.byteLength).set(input);
      if (x.tjDecompressHeader3(handle, inp, input.byteLength, meta, meta + 4, meta + 8, meta + 12) !== 0) return undefined;
      const [w, h] = new Int32Array(x.memory.buffer, meta, 2);
      // The frame header we parsed must be the one libjpeg-turbo sees (else the scale would be wrong).
      if (w !== width || h !== height) return undefined;
      // Any warning (corrupt data, premature end) makes the status -1: sharp then decides.
      if (x.tjDecompress2(handle, inp, input.byteLength, dst, ow, ow * 3, oh, TJPF_RGB, 0) !== 0) return undefined;
      return { rgb: new Uint8Array(x.memory.buffer, dst, ow * oh * 3).slice(), width: ow, height: oh };
    } catch {
      // A long-jump out of libjpeg left this instance's stack and heap in an unknown state: start afresh
      // (nothing of the dropped instance is freed).
      this.x = undefined;
      return undefined;
    } finally {
      if (this.x) {
        if (dst) x.free(dst);
        if (meta) x.free(meta);
        if (inp) x.free(inp);
        if (handle) x.tjDestroy(handle);
      }
    }
  }
}

type WebpOptions = import('@jsquash/webp/meta').EncodeOptions;
interface WebpModule {
  encode(data: Uint8ClampedArray, width: number, height: number, options: WebpOptions): Uint8Array | null;
}

export interface FastThumbnailer {
  /** The WebP thumbnail of a JPEG, or undefined when sharp has to do it (see the file comment). */
  thumbnail(input: Uint8Array, max: number, quality: number): { data: Uint8Array; width: number; height: number } | undefined;
}

let loading: Promise<FastThumbnailer | undefined> | undefined;

/**
 * The fast thumbnailer of this thread, loaded once; undefined when its WebAssembly modules cannot load (the
 * caller then uses sharp for everything; `MIXUP_STUDIO_DEBUG=1` prints why). `MIXUP_STUDIO_FAST_THUMBS=0`
 * turns it off.
 */
export function fastThumbnailer(): Promise<FastThumbnailer | undefined> {
  loading ??= load().catch((err: Error) => {
    if (process.env.MIXUP_STUDIO_DEBUG) process.stderr.write(`mixup-studio: fast JPEG thumbnails off, using sharp: ${err.message.split("\n")[0]}\n`);
    return undefined;
  });
  return loading;
}

async function load(): Promise<FastThumbnailer | undefined> {
  if (process.env.MIXUP_STUDIO_FAST_THUMBS === '0') return undefined;
  const turbo = new JpegTurbo(new WebAssembly.Module(readFileSync(req.resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm'))));
  const webp = await loadWebp();
  const { defaultOptions } = (await importPackageFile('@jsquash/webp/meta.js')) as typeof import('@jsquash/webp/meta');
  return {
    thumbnail(input, max, quality) {
      const traits = jpegTraits(input);
      if (traits.skip) return undefined;
      const size = thumbSize(traits.width, traits.height, max);
      const k = decodeScale(traits.width, traits.height, size.width, size.height);
      const decoded = turbo.decode(input, k, traits.width, traits.height);
      if (!decoded) return undefined;
      const rgba = areaResizeRgbToRgba(decoded.rgb, decoded.width, decoded.height, size.width, size.height);
      // Same settings as the sharp path: quality, fastest method (effort 0).
      const data = webp.encode(rgba, size.width, size.height, { ...defaultOptions, quality, method: 0 });
      if (!data) return undefined;
      return { data, width: size.width, height: size.height };
    },
  };
}

/** Imports an ES module file of a package by its resolved path (a bare specifier does not resolve from every loader). */
function importPackageFile(spec: string): Promise<unknown> {
  return import(pathToFileURL(req.resolve(spec)).href);
}

/** libwebp's encoder as WebAssembly, the SIMD build where the runtime validates it. */
async function loadWebp(): Promise<WebpModule> {
  for (const name of ['webp_enc_simd', 'webp_enc']) {
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(readFileSync(req.resolve(`@jsquash/webp/codec/enc/${name}.wasm`)));
    } catch (err) {
      if (name === 'webp_enc') throw err;
      continue;
    }
    const glue = (await importPackageFile(`@jsquash/webp/codec/enc/${name}.js`)) as { default: (opts: object) => Promise<WebpModule> };
    const factory = glue.default;
    return factory({
      noInitialRun: true,
      instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) {
        const instance = new WebAssembly.Instance(module, imports);
        done(instance);
        return instance.exports;
      },
    });
  }
  throw new Error('no WebP encoder');
}

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { probeImage } from '../../src-main/datasets/probe';
// @ts-expect-error plain JS fixture builder
import { encodeDigit, encodeFashion, GOOD_FORMATS } from '../fixtures/dataset-trees.mjs';

const SHARP_FORMAT: Record<string, string> = { avif: 'heif', heif: 'heif' };

describe('header probe and structural check (no pixel decoding)', () => {
  it('reads format, width, height and channels exactly as sharp reports them, for every format', async () => {
    let k = 0;
    for (const [kind] of GOOD_FORMATS as [string, string][]) {
      const buf: Buffer = await encodeFashion('coat', k++, kind);
      const p = probeImage(buf);
      const meta = await sharp(buf).metadata();
      expect(p.ok, `${kind}: ${JSON.stringify(p)}`).toBe(true);
      if (!p.ok) continue;
      expect({ kind, format: SHARP_FORMAT[p.format] ?? p.format, width: p.width, height: p.height, channels: p.channels }).toEqual({
        kind,
        format: meta.format,
        width: meta.width,
        height: meta.height,
        channels: meta.channels,
      });
    }
    // A digit (8x8 upscaled to 32x32, RGB JPEG) and a larger photo-sized JPEG with restart markers.
    const digit = probeImage(await encodeDigit(4, 0));
    expect(digit).toMatchObject({ ok: true, format: 'jpeg', width: 32, height: 32, channels: 3 });
    const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 90 } } })
      .jpeg({ quality: 80 })
      .toBuffer();
    expect(probeImage(photo)).toMatchObject({ ok: true, width: 640, height: 480, channels: 3 });
  });

  it('tells CMYK JPEG (4 channels), 16-bit PNG, palette PNG and AVIF apart from their plain cousins', async () => {
    expect(probeImage(await encodeFashion('coat', 1, 'jpeg-cmyk'))).toMatchObject({ format: 'jpeg', channels: 4 });
    expect(probeImage(await encodeFashion('coat', 1, 'png-grey'))).toMatchObject({ format: 'png', channels: 1 });
    const png16: Buffer = await encodeFashion('coat', 1, 'png-16');
    expect(png16[24]).toBe(16); // IHDR bit depth: a real 16-bit PNG
    expect(probeImage(png16)).toMatchObject({ format: 'png', channels: 3 });
    const pal: Buffer = await encodeFashion('coat', 1, 'png-palette');
    expect(pal[25]).toBe(3); // colour type 3: palette
    expect(probeImage(pal)).toMatchObject({ format: 'png', channels: 3 });
    expect(probeImage(await encodeFashion('coat', 1, 'avif'))).toMatchObject({ format: 'avif', channels: 3 });
  });

  it('reads BigTIFF (64-bit offsets) in both byte orders like classic TIFF, and catches its truncation', async () => {
    const pic = sharp({ create: { width: 37, height: 23, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 120, sigma: 40 } } });
    for (const tile of [false, true]) {
      const big: Buffer = await pic.clone().tiff({ bigtiff: true, compression: 'lzw', tile, tileWidth: 16, tileHeight: 16 }).toBuffer();
      expect(big.readUInt16LE(2), 'a real BigTIFF: version 43').toBe(43);
      expect(probeImage(big)).toEqual({ ok: true, format: 'tiff', width: 37, height: 23, channels: 3 });
      const meta = await sharp(big).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['tiff', 37, 23]);
      for (const cut of [3, 10, 15, Math.floor(big.length / 2), big.length - 1]) {
        expect(probeImage(big.subarray(0, cut)).ok, `BigTIFF cut at ${cut}/${big.length}`).toBe(false);
      }
      // The same file big-endian: every field rewritten (header, IFD count, entries, offsets).
      const be = toBigEndianBigTiff(big);
      expect((await sharp(be).raw().toBuffer()).equals(await sharp(big).raw().toBuffer()), 'libtiff decodes the rewrite to the same pixels').toBe(true);
      expect(probeImage(be)).toEqual({ ok: true, format: 'tiff', width: 37, height: 23, channels: 3 });
    }
  });

  it('finds every strict prefix of every format corrupt (truncation is always caught), and never throws', async () => {
    let k = 0;
    for (const [kind] of GOOD_FORMATS as [string, string][]) {
      const buf: Buffer = await encodeFashion('pullover', k++, kind);
      const cuts = new Set([1, 2, 7, 12, 20, 40, Math.floor(buf.length / 3), Math.floor(buf.length / 2), buf.length - 2, buf.length - 1]);
      for (const cut of cuts) {
        if (cut <= 0 || cut >= buf.length) continue;
        const p = probeImage(buf.subarray(0, cut));
        expect(p.ok, `${kind} cut at ${cut}/${buf.length}`).toBe(false);
      }
    }
  });

  it('names the reason: empty, unrecognised, CRC mismatch, missing EOI, RIFF size', async () => {
    expect(probeImage(Buffer.alloc(0))).toEqual({ ok: false, reason: 'empty file' });
    // Says what the start looks like, never quoting it (the file may be anything: issue #11 item 4).
    expect(probeImage(Buffer.from('hello, I am text'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not an image: .*starts with text/) });
    expect(JSON.stringify(probeImage(Buffer.from('hello, I am text')))).not.toContain('hello');
    expect(probeImage(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8]))).toMatchObject({ ok: false, reason: 'not an image: unrecognised signature' });
    const png: Buffer = Buffer.from(await encodeFashion('bag', 0, 'png'));
    png[png.length - 20] ^= 0x55; // inside IDAT (the last chunks are IDAT data, its CRC and IEND)
    expect(probeImage(png)).toMatchObject({ ok: false, reason: expect.stringMatching(/CRC mismatch in chunk IDAT/) });
    const jpg: Buffer = await encodeFashion('bag', 0, 'jpeg');
    expect(probeImage(jpg.subarray(0, jpg.length - 2))).toMatchObject({ ok: false, reason: 'jpeg: truncated: no EOI marker' });
    const webp: Buffer = await encodeFashion('bag', 0, 'webp');
    expect(probeImage(webp.subarray(0, webp.length - 1))).toMatchObject({ ok: false, reason: expect.stringMatching(/RIFF size/) });
    const gif: Buffer = await encodeFashion('bag', 0, 'gif');
    expect(probeImage(gif.subarray(0, gif.length - 1))).toMatchObject({ ok: false, reason: expect.stringMatching(/no trailer/) });
  });

  it('accepts bytes after the end marker and a JPEG named .png alike: the bytes decide the format', async () => {
    const jpg: Buffer = await encodeFashion('bag', 2, 'jpeg');
    expect(probeImage(Buffer.concat([jpg, Buffer.from('trailing metadata')]))).toMatchObject({ ok: true, format: 'jpeg' });
  });
});

/** Rewrites a little-endian BigTIFF's structure (not its pixel data) as big-endian: MM, then every IFD field. */
function toBigEndianBigTiff(le: Buffer): Buffer {
  const b = Buffer.from(le);
  const size: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };
  const swap = (o: number, n: number) => b.subarray(o, o + n).reverse();
  b.write('MM', 0, 'latin1');
  swap(2, 2);
  swap(4, 2);
  swap(6, 2);
  let ifd = Number(le.readBigUInt64LE(8));
  swap(8, 8);
  while (ifd !== 0) {
    const count = Number(le.readBigUInt64LE(ifd));
    swap(ifd, 8);
    for (let i = 0; i < count; i++) {
      const e = ifd + 8 + i * 20;
      const type = le.readUInt16LE(e + 2);
      const n = Number(le.readBigUInt64LE(e + 4));
      const unit = size[type] ?? 1;
      swap(e, 2);
      swap(e + 2, 2);
      swap(e + 4, 8);
      const at = unit * n <= 8 ? e + 12 : Number(le.readBigUInt64LE(e + 12));
      if (unit * n > 8) swap(e + 12, 8);
      if (unit > 1) for (let k = 0; k < n; k++) swap(at + k * unit, unit);
    }
    const next = ifd + 8 + count * 20;
    ifd = Number(le.readBigUInt64LE(next));
    swap(next, 8);
  }
  return b;
}

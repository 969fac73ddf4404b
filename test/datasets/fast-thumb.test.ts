import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areaResizeRgbToRgba, decodeScale, fastThumbnailer, jpegTraits, thumbSize, type FastThumbnailer } from '../../src-main/datasets/fast-thumb';
import { DecodeError, THUMB_SIZE, writeThumbnail } from '../../src-main/datasets/thumbs';
import { tempDir } from '../helpers/temp';

let fast: FastThumbnailer;
let tmp: { dir: string; cleanup(): void };

/** A smooth colour picture (gradients and a disc), so two good resamplers agree closely. */
async function picture(width: number, height: number): Promise<ReturnType<typeof sharp>> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inDisc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 4) ** 2;
      px[o] = Math.round((255 * x) / Math.max(1, width - 1));
      px[o + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      px[o + 2] = inDisc ? 230 : 40;
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

/** The sharp path's thumbnail of the same input (fit inside 128, no enlargement), as raw RGB. */
async function sharpRgb(jpeg: Buffer) {
  return sharp(jpeg).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

beforeAll(async () => {
  const f = await fastThumbnailer();
  if (!f) throw new Error('the fast thumbnail path did not load');
  fast = f;
  tmp = tempDir('mixup-fast-thumb-');
});
afterAll(() => tmp.cleanup());

describe('fast JPEG thumbnail path (libjpeg-turbo + libwebp as WebAssembly)', () => {
  it('decodes at the smallest DCT scale that is still at least the thumbnail size, never enlarging', () => {
    expect(thumbSize(640, 480, 128)).toEqual({ width: 128, height: 96 });
    expect(thumbSize(100, 40, 128)).toEqual({ width: 100, height: 40 });
    expect(thumbSize(4000, 10, 128)).toEqual({ width: 128, height: 1 });
    expect(decodeScale(640, 480, 128, 96)).toBe(4);
    expect(decodeScale(1024, 768, 128, 96)).toBe(8);
    expect(decodeScale(300, 200, 128, 85)).toBe(2);
    expect(decodeScale(100, 40, 100, 40)).toBe(1);
    // Every pick leaves the decoded image at least as big as the thumbnail.
    for (const [w, h] of [[641, 479], [129, 4000], [2000, 2000], [257, 130]]) {
      const t = thumbSize(w, h, 128);
      const k = decodeScale(w, h, t.width, t.height);
      expect(Math.ceil(w / k)).toBeGreaterThanOrEqual(t.width);
      expect(Math.ceil(h / k)).toBeGreaterThanOrEqual(t.height);
    }
  });

  it('the area filter keeps flat colour exactly and averages what it covers', () => {
    const flat = new Uint8Array(160 * 120 * 3);
    for (let i = 0; i < flat.length; i += 3) flat.set([200, 10, 77], i);
    const out = areaResizeRgbToRgba(flat, 160, 120, 128, 96);
    expect(out.length).toBe(128 * 96 * 4);
    for (let i = 0; i < out.length; i += 4) expect([out[i], out[i + 1], out[i + 2], out[i + 3]]).toEqual([200, 10, 77, 255]);
    // 4x1 -> 2x1: each output pixel is the mean of two.
    const row = Uint8Array.from([0, 0, 0, 100, 100, 100, 10, 20, 30, 30, 40, 50]);
    expect([...areaResizeRgbToRgba(row, 4, 1, 2, 1)]).toEqual([50, 50, 50, 255, 20, 30, 40, 255]);
  });

  it('makes the same thumbnail as the sharp path (same size, colours within a few levels) for baseline, progressive, 4:4:4, grey and odd sizes', async () => {
    const cases: [string, Promise<Buffer>][] = [
      ['640x480 baseline', (await picture(640, 480)).jpeg({ quality: 90 }).toBuffer()],
      ['641x479 progressive', (await picture(641, 479)).jpeg({ quality: 90, progressive: true }).toBuffer()],
      ['300x200 4:4:4', (await picture(300, 200)).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer()],
      ['1024x768 grey', (await picture(1024, 768)).greyscale().jpeg({ quality: 90 }).toBuffer()],
      ['100x40 (no enlargement)', (await picture(100, 40)).jpeg({ quality: 95 }).toBuffer()],
      ['130x2000 tall', (await picture(130, 2000)).jpeg({ quality: 90 }).toBuffer()],
    ];
    for (const [name, pending] of cases) {
      const jpeg = await pending;
      expect(jpegTraits(jpeg).skip, name).toBeUndefined();
      const t = fast.thumbnail(jpeg, THUMB_SIZE, 75);
      expect(t, name).toBeDefined();
      // Sizes agree to the pixel (sharp rounds after its own shrink-on-load, so it may be one less).
      const ref = await sharpRgb(jpeg);
      expect(Math.abs(t!.width - ref.info.width), name).toBeLessThanOrEqual(1);
      expect(Math.abs(t!.height - ref.info.height), name).toBeLessThanOrEqual(1);
      expect(await sharp(t!.data).metadata(), name).toMatchObject({ format: 'webp', width: t!.width, height: t!.height });
      // Same picture: both WebP thumbnails (the sharp path's settings) brought to one small size agree colour by
      // colour within a few levels.
      const [sw, sh] = [Math.min(32, t!.width), Math.min(32, t!.height)];
      const small = (img: Buffer | Uint8Array) => sharp(img).resize(sw, sh, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
      expect(meanAbsDiff(await small(t!.data), await small(await sharp(jpeg).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 75, effort: 0 }).toBuffer())), name).toBeLessThan(6);
    }
  });

  it('leaves to sharp what it would get wrong: EXIF rotation, an ICC profile, CMYK, non-JPEG', async () => {
    const pic = await picture(200, 100);
    const rotated = await pic.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const icc = await pic.clone().withIccProfile('p3').jpeg().toBuffer();
    const cmyk = await pic.clone().toColourspace('cmyk').jpeg().toBuffer();
    const png = await pic.clone().png().toBuffer();
    expect(jpegTraits(rotated).skip).toBe('EXIF rotation');
    expect(jpegTraits(icc).skip).toBe('embedded ICC profile');
    expect(jpegTraits(cmyk).skip).toBe('4 components');
    expect(jpegTraits(png).skip).toBe('not a JPEG');
    for (const b of [rotated, icc, cmyk, png]) expect(fast.thumbnail(b, THUMB_SIZE, 75)).toBeUndefined();
    // Through writeThumbnail they still get a correct thumbnail (sharp): the rotated one is upright, 50x100.
    expect(await writeThumbnail(rotated, join(tmp.dir, 'rot.webp'))).toMatchObject({ width: 64, height: 128 });
    expect(await writeThumbnail(cmyk, join(tmp.dir, 'cmyk.webp'))).toMatchObject({ width: 128, height: 64 });
  });

  it('declines damaged JPEGs (decoder warnings and fatal errors) and keeps working after a fatal one; sharp then calls them corrupt', async () => {
    const good = await (await picture(640, 480)).jpeg({ quality: 90 }).toBuffer();
    // Entropy-coded data scrambled in the middle: libjpeg warns ("corrupt JPEG data").
    const scrambled = Buffer.from(good);
    for (let i = Math.floor(good.length / 2); i < Math.floor(good.length / 2) + 64; i++) scrambled[i] ^= 0x5a;
    expect(fast.thumbnail(scrambled, THUMB_SIZE, 75)).toBeUndefined();
    // A frame whose component names quantisation table 3, which no DQT defines: a fatal libjpeg error (long jump).
    const noTable = Buffer.from(good);
    let pos = 2;
    while (noTable[pos + 1] !== 0xc0) pos += 2 + noTable.readUInt16BE(pos + 2);
    noTable[pos + 4 + 6 + 2] = 3;
    expect(jpegTraits(noTable).skip).toBeUndefined();
    expect(fast.thumbnail(noTable, THUMB_SIZE, 75)).toBeUndefined();
    // The next good image still goes through the fast path, on a fresh instance.
    expect(fast.thumbnail(good, THUMB_SIZE, 75)).toMatchObject({ width: 128, height: 96 });
    // The verdict is sharp's: it reads past this scrambling (so the image is not corrupt), and it rejects a
    // stream cut short, with its message.
    expect(await writeThumbnail(scrambled, join(tmp.dir, 'scrambled.webp'))).toMatchObject({ width: 128, height: 96 });
    const cut = good.subarray(0, Math.floor(good.length * 0.6));
    expect(fast.thumbnail(cut, THUMB_SIZE, 75)).toBeUndefined();
    await expect(writeThumbnail(cut, join(tmp.dir, 'cut.webp'))).rejects.toBeInstanceOf(DecodeError);
    await expect(writeThumbnail(noTable, join(tmp.dir, 'bad2.webp'))).rejects.toBeInstanceOf(DecodeError);
  });

  it('writes the fast thumbnail as a WebP file that sharp reads back at the expected size', async () => {
    const jpeg = await (await picture(640, 480)).jpeg().toBuffer();
    const file = join(tmp.dir, 'ab', 'cd.webp');
    expect(await writeThumbnail(jpeg, file)).toMatchObject({ width: 128, height: 96 });
    const meta = await sharp(readFileSync(file)).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 128, height: 96 });
  });
});

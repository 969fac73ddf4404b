import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src-main/datasets/scan';
import { verifyDataset } from '../../src-main/datasets/verify';
import { resolveMedia } from '../../src-main/datasets/media';
import { listUsableImages, markCorrupt } from '../../src-main/datasets/repository';
import { jpegOrientation } from '../../src-main/datasets/jpeg-orientation';
import { writeThumbnail } from '../../src-main/datasets/thumbs';
import { tempDir, tempServicesIn } from '../helpers/temp';
// @ts-expect-error plain JS fixture builder
import { encodeFashion, GOOD_FORMATS } from '../fixtures/dataset-trees.mjs';

let base: { dir: string; cleanup(): void };
const cleanups: (() => void)[] = [];
let root: string;

/** A PNG whose chunks and CRCs are all valid but whose IDAT is not zlib data: passes the scan, fails decode. */
async function undecodablePng(): Promise<Buffer> {
  const png: Buffer = Buffer.from(await encodeFashion('bag', 30, 'png'));
  let pos = 8;
  for (;;) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    if (type === 'IDAT') {
      for (let i = 0; i < len; i++) png[pos + 8 + i] = (i * 37 + 11) & 0xff;
      png.writeUInt32BE(crc32(png.subarray(pos + 4, pos + 8 + len)), pos + 8 + len);
      return png;
    }
    pos += 12 + len;
  }
}

beforeAll(async () => {
  base = tempDir('mixup-verify-');
  root = join(base.dir, 'data');
  let k = 0;
  for (const [kind, ext] of GOOD_FORMATS as [string, string][]) {
    const cls = k % 2 ? 'coat' : 'dress';
    mkdirSync(join(root, cls), { recursive: true });
    writeFileSync(join(root, cls, `${kind}.${ext}`), await encodeFashion(cls, k++, kind));
  }
  for (let i = 0; i < 20; i++) writeFileSync(join(root, 'coat', `extra-${i}.jpg`), await encodeFashion('coat', 50 + i, 'jpeg'));
  writeFileSync(join(root, 'dress', 'bad-zlib.png'), await undecodablePng());
});
afterAll(() => {
  cleanups.forEach((f) => f());
  base.cleanup();
});

const home = () => tempServicesIn(cleanups);

describe('verify pass', () => {
  it('decodes every image in worker threads, writes a <=128-px WebP thumbnail each, and marks decode failures corrupt', async () => {
    const s = home();
    const scan = await scanDataset(s.db, { root, workers: 0 });
    const total = GOOD_FORMATS.length + 21;
    expect(scan.images).toBe(total); // the bad PNG passes the structural check
    const events: { done: number; total: number }[] = [];
    const r = await verifyDataset(s, scan.dataset.id, { workers: 2, batchSize: 4, onProgress: (p) => events.push(p) });
    expect(r.verified).toBe(total - 1);
    expect(r.corrupt).toEqual([{ path: 'dress/bad-zlib.png', reason: expect.stringMatching(/^decode failed: /) }]);
    expect(events.at(-1)).toMatchObject({ done: total, total });
    const rows = s.db.prepare("SELECT thumb FROM images WHERE status = 'ok'").pluck().all() as string[];
    expect(rows).toHaveLength(total - 1);
    for (const name of rows) {
      const meta = await sharp(join(s.paths.thumbs, name)).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(128);
    }
    expect(listUsableImages(s.db, scan.dataset.id).some((u) => u.relPath === 'dress/bad-zlib.png')).toBe(false);
    // Nothing left to verify: a second pass does nothing.
    expect((await verifyDataset(s, scan.dataset.id, { workers: 0 })).verified).toBe(0);
  });

  it('is resumable: a cancelled pass keeps what it verified and the next one takes only the rest', async () => {
    const s = home();
    const scan = await scanDataset(s.db, { root, workers: 0 });
    const ctl = new AbortController();
    await expect(
      verifyDataset(s, scan.dataset.id, { workers: 0, batchSize: 5, signal: ctl.signal, afterBatch: (n) => n >= 10 && ctl.abort() }),
    ).rejects.toMatchObject({ kind: 'cancelled' });
    const done = s.db.prepare('SELECT COUNT(*) FROM images WHERE verified = 1').pluck().get() as number;
    expect(done).toBeGreaterThanOrEqual(10);
    const rest = await verifyDataset(s, scan.dataset.id, { workers: 0 });
    expect(rest.verified + rest.corrupt.length).toBe(scan.images - done);
    expect(s.db.prepare('SELECT COUNT(*) FROM images WHERE verified = 0').pluck().get()).toBe(0);
  });

  it('resolveMedia makes a thumbnail on demand before verify, serves originals, and knows unknown ids', async () => {
    const s = home();
    const scan = await scanDataset(s.db, { root, workers: 0 });
    const img = listUsableImages(s.db, scan.dataset.id).find((u) => u.relPath === 'coat/extra-0.jpg')!;
    const thumb = await resolveMedia(s, 'thumb', img.id);
    expect(thumb.contentType).toBe('image/webp');
    expect((await sharp(thumb.data).metadata()).width).toBeLessThanOrEqual(128);
    expect(await resolveMedia(s, 'image', img.id)).toEqual({ data: readFileSync(img.path), contentType: 'image/jpeg' });
    await expect(resolveMedia(s, 'thumb', 99999)).rejects.toMatchObject({ kind: 'not-found' });
    const bad = s.db.prepare("SELECT id FROM images WHERE rel_path = 'dress/bad-zlib.png'").pluck().get() as number;
    await expect(resolveMedia(s, 'thumb', bad)).rejects.toMatchObject({ kind: 'corrupt' });
    expect(s.db.prepare('SELECT status FROM images WHERE id = ?').pluck().get(bad)).toBe('corrupt');
  });

  it('markCorrupt (what training calls on a decode failure) takes the image out, and verify skips it', async () => {
    const s = home();
    const scan = await scanDataset(s.db, { root, workers: 0 });
    const img = listUsableImages(s.db, scan.dataset.id)[0];
    markCorrupt(s.db, img.id, 'decode failed: test');
    expect(listUsableImages(s.db, scan.dataset.id).map((u) => u.id)).not.toContain(img.id);
    const r = await verifyDataset(s, scan.dataset.id, { workers: 0 });
    expect(r.verified + r.corrupt.length).toBe(scan.images - 1);
  });

  it('thumbnails follow the EXIF orientation of a JPEG (and upright ones skip the rotation)', async () => {
    const base28: Buffer = await encodeFashion('bag', 3, 'jpeg-rgb');
    const wide = await sharp(base28).resize(40, 20, { fit: 'fill' }).jpeg().toBuffer();
    const rotated = await sharp(wide).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    expect(jpegOrientation(wide)).toBe(1);
    expect(jpegOrientation(rotated)).toBe(6);
    const t = tempDir('mixup-orient-');
    cleanups.push(t.cleanup);
    expect(await writeThumbnail(wide, join(t.dir, 'a.webp'))).toMatchObject({ width: 40, height: 20 });
    expect(await writeThumbnail(rotated, join(t.dir, 'b.webp'))).toMatchObject({ width: 20, height: 40 });
  });

  it('a thumbnail folder that cannot be written stops the pass with an io error and marks nothing corrupt; a cleared one is remade', async () => {
    const s = home();
    const scan = await scanDataset(s.db, { root, workers: 0 });
    const { rmSync } = await import('node:fs');
    rmSync(s.paths.thumbs, { recursive: true, force: true });
    writeFileSync(s.paths.thumbs, 'not a folder');
    await expect(verifyDataset(s, scan.dataset.id, { workers: 0 })).rejects.toMatchObject({ kind: 'io', message: expect.stringMatching(/cannot write the thumbnail/) });
    expect(s.db.prepare("SELECT COUNT(*) FROM images WHERE status = 'corrupt'").pluck().get()).toBe(0);
    rmSync(s.paths.thumbs, { force: true });
    const r = await verifyDataset(s, scan.dataset.id, { workers: 0 });
    expect(r.verified).toBe(scan.images - 1);
    // Thumbnails cleared while the app runs: the next pass makes the folders again.
    rmSync(s.paths.thumbs, { recursive: true, force: true });
    s.db.prepare('UPDATE images SET verified = 0 WHERE status = ?').run('ok');
    const again = await verifyDataset(s, scan.dataset.id, { workers: 0 });
    expect(again.verified).toBe(scan.images - 1);
    expect(again.corrupt).toEqual([]);
  });
});

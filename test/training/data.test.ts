import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochOrder, Rng } from '../../src-main/mixup/rng';
import { BatchMaker } from '../../src-main/training/batches';
import { decodeImage } from '../../src-main/training/decode';
import { ImageStore, type DataItem } from '../../src-main/training/image-store';
import { PIXEL_SCALE } from '../../src-main/config/preprocessing';
import { tempDir } from '../helpers/temp';

const tmp = tempDir('mixup-data-');
const sample = resolve(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');
let items: DataItem[] = [];

beforeAll(async () => {
  const classes = readdirSync(sample).sort().slice(0, 3);
  classes.forEach((c, ci) => {
    mkdirSync(join(tmp.dir, 'img', c), { recursive: true });
    for (const f of readdirSync(join(sample, c)).sort().slice(0, 4)) {
      copyFileSync(join(sample, c, f), join(tmp.dir, 'img', c, f));
      items.push({ id: items.length + 1, path: join(tmp.dir, 'img', c, f), classIndex: ci, hash: `h${items.length + 1}` });
    }
  });
  // A 4×2 RGB image with known pixels, for the normalisation and flip checks.
  const px = Buffer.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 220, 230, 240]);
  await sharp(px, { raw: { width: 4, height: 2, channels: 3 } }).png().toFile(join(tmp.dir, 'known.png'));
  writeFileSync(join(tmp.dir, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not a png'));
});
afterAll(() => tmp.cleanup());

describe('data pipeline', () => {
  it('decodes real PNGs with sharp to inputSize, grey or RGB', async () => {
    const grey = await decodeImage(items[0].path, [12, 10], 1);
    expect(grey.length).toBe(12 * 10);
    const rgb = await decodeImage(items[0].path, [12, 10], 3);
    expect(rgb.length).toBe(12 * 10 * 3);
    // A grey source expanded to RGB has equal channels.
    for (let i = 0; i < 120; i++) expect(rgb[i * 3]).toBe(rgb[i * 3 + 1]);
    const known = await decodeImage(join(tmp.dir, 'known.png'), [2, 4], 3);
    expect(Array.from(known.slice(0, 6))).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('leaves out an image that fails to decode, reporting it, and keeps the others', async () => {
    const bad: DataItem = { id: 999, path: join(tmp.dir, 'broken.png'), classIndex: 0, hash: 'broken' };
    const corrupt: string[] = [];
    const store = await ImageStore.build([...items, bad], {
      inputSize: [8, 8],
      channels: 1,
      cacheDir: join(tmp.dir, 'cache'),
      onCorrupt: (it, reason) => corrupt.push(`${it.id}:${reason}`),
    });
    expect(store.items.length).toBe(items.length);
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]).toMatch(/^999:/);
    expect(store.decoded).toBe(items.length);
  });

  it('reads decoded pixels back from the disk cache instead of decoding again (memory and disk modes agree)', async () => {
    const first = await ImageStore.build(items, { inputSize: [8, 8], channels: 1, cacheDir: join(tmp.dir, 'cache') });
    expect(first.decoded).toBe(0);
    const disk = await ImageStore.build(items, { inputSize: [8, 8], channels: 1, cacheDir: join(tmp.dir, 'cache'), memoryBudgetBytes: 10 });
    expect(disk.inMemory).toBe(false);
    for (let k = 0; k < items.length; k++) expect(Array.from(await disk.pixels(k))).toEqual(Array.from(await first.pixels(k)));
  });

  it('normalises x = (pixel·scale − mean[c]) / std[c] with train-split statistics', async () => {
    const known = { id: 1, path: join(tmp.dir, 'known.png'), classIndex: 1, hash: 'known' };
    const store = await ImageStore.build([known], { inputSize: [2, 4], channels: 3, cacheDir: null });
    const { mean, std } = await store.channelStats();
    const r = [10, 40, 70, 100, 130, 160, 190, 220].map((v) => v * PIXEL_SCALE);
    const mr = r.reduce((a, b) => a + b) / 8;
    expect(mean[0]).toBeCloseTo(mr, 10);
    expect(std[0]).toBeCloseTo(Math.sqrt(r.reduce((a, b) => a + (b - mr) ** 2, 0) / 8), 10);
    const bm = new BatchMaker(store, { inputSize: [2, 4], channels: 3, scale: PIXEL_SCALE, mean, std, resize: 'fill' });
    const b = await bm.batch([0], null);
    expect(b.labels[0]).toBe(1);
    expect(b.x[0]).toBeCloseTo((10 * PIXEL_SCALE - mean[0]) / std[0], 5);
    expect(b.x[4]).toBeCloseTo((50 * PIXEL_SCALE - mean[1]) / std[1], 5);
  });

  it('augments (flip, pad-and-crop) from the seed only: same seed same batch, flip mirrors the row', async () => {
    const known = { id: 1, path: join(tmp.dir, 'known.png'), classIndex: 0, hash: 'known' };
    const store = await ImageStore.build([known], { inputSize: [2, 4], channels: 3, cacheDir: null });
    const pre = { inputSize: [2, 4] as [number, number], channels: 3 as const, scale: 1, mean: [0, 0, 0], std: [1, 1, 1], resize: 'fill' as const };
    const flip = new BatchMaker(store, pre, { flip: true, padCrop: 0 });
    // Find a seed whose first draw flips.
    let seed = 0;
    while (new Rng(seed).next() >= 0.5) seed++;
    const b = await flip.batch([0], new Rng(seed));
    expect(Array.from(b.x.slice(0, 3))).toEqual([100, 110, 120]);
    const crop = new BatchMaker(store, pre, { flip: true, padCrop: 2 });
    const x1 = await crop.batch([0, 0, 0, 0], new Rng(7));
    const x2 = await crop.batch([0, 0, 0, 0], new Rng(7));
    expect(Array.from(x1.x)).toEqual(Array.from(x2.x));
    const plain = new BatchMaker(store, pre);
    expect(Array.from((await plain.batch([0], new Rng(7))).x.slice(0, 3))).toEqual([10, 20, 30]);
  });

  it('stops decoding when the run is cancelled, in the pool and in this thread, before every image is decoded', async () => {
    const many: DataItem[] = [];
    for (let r = 0; r < 20; r++) for (const it of items) many.push({ ...it, id: many.length + 1, hash: null });
    for (const workers of [2, 0]) {
      let done = 0;
      const build = ImageStore.build(many, {
        inputSize: [9, 7],
        channels: 1,
        cacheDir: null,
        workers,
        concurrency: 2,
        cancelled: () => done >= 10,
        onProgress: (d) => (done = d),
      });
      await expect(build).rejects.toThrow(/training cancelled/);
      expect(done).toBeLessThan(many.length);
    }
  }, 60_000);

  it('decodes in a pool of worker threads to exactly the pixels of in-thread decoding, failures reported', async () => {
    const many: DataItem[] = [];
    for (let r = 0; r < 4; r++) for (const it of items) many.push({ ...it, id: many.length + 1, hash: null });
    many.push({ id: 500, path: join(tmp.dir, 'broken.png'), classIndex: 0, hash: null });
    const bad: number[] = [];
    const pooled = await ImageStore.build(many, { inputSize: [9, 7], channels: 3, cacheDir: null, workers: 2, onCorrupt: (it) => bad.push(it.id) });
    const inline = await ImageStore.build(many, { inputSize: [9, 7], channels: 3, cacheDir: null, workers: 0 });
    expect(bad).toEqual([500]);
    expect(pooled.decoded).toBe(many.length - 1);
    expect(pooled.items.map((i) => i.id)).toEqual(inline.items.map((i) => i.id));
    for (let k = 0; k < pooled.items.length; k++) expect(Array.from(await pooled.pixels(k))).toEqual(Array.from(await inline.pixels(k)));
  }, 60_000);

  it('shuffles per epoch from the seed', () => {
    const a = epochOrder(50, new Rng(3));
    const b = epochOrder(50, new Rng(3));
    const c = epochOrder(50, new Rng(4));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

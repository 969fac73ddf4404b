/**
 * A Fashion-MNIST folder tree with known faults, for curation tests and `bench:curate`: `perClass` images of
 * each class from Debian's training split (as PNG, folder per class), of which a seeded set is filed under a
 * wrong class folder, plus near-duplicate copies of other images (brightness changed, noise added, or re-saved
 * as JPEG), some of them filed under another class. The answer key comes back with it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mapLimit } from '../../src-main/core/map-limit';
// @ts-expect-error: a plain .mjs helper shared with the benchmarks (no types)
import { FASHION_MNIST_CLASSES, pickPerClass, readFashionMnist } from '../../scripts/lib/fashion-mnist.mjs';

export interface FaultyFashion {
  root: string;
  classes: string[];
  images: number;
  /** Images filed under a wrong class: path (relative), the class folder it is in, and its true class. */
  wrong: { path: string; filed: string; truth: string }[];
  /** Near-duplicate copies: the copy's path, the original's path, how it was made, and whether it crosses classes. */
  copies: { path: string; original: string; kind: 'brightness' | 'noise' | 'jpeg'; crossClass: boolean }[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function writeFaultyFashion(
  root: string,
  o: { perClass: number; wrongFraction?: number; copies?: number; crossClassCopies?: number; seed?: number; offset?: number },
): Promise<FaultyFashion> {
  const fm = readFashionMnist('train');
  const rnd = lcg(o.seed ?? 11);
  const classes: string[] = FASHION_MNIST_CLASSES;
  const picked: number[] = pickPerClass(fm.labels, o.perClass, o.offset ?? 0);
  const px = 28 * 28;
  const n = picked.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nWrong = Math.round(n * (o.wrongFraction ?? 0.04));
  const nCopies = o.copies ?? 24;
  const nCross = o.crossClassCopies ?? 8;
  const wrongSet = new Set(order.slice(0, nWrong));
  const copySources = order.slice(nWrong, nWrong + nCopies);
  const out: FaultyFashion = { root, classes: [...classes].sort(), images: 0, wrong: [], copies: [] };
  for (const c of classes) mkdirSync(join(root, c), { recursive: true });
  const pathOf = new Map<number, string>();
  const otherClass = (truth: number) => (truth + 1 + Math.floor(rnd() * (classes.length - 1))) % classes.length;
  // A few encodes at a time: 30,000 at once would hold every buffer (GBs) until the last one finishes.
  await mapLimit(
    picked.map((idx, k) => [idx, k] as const),
    8,
    async ([idx, k]) => {
      const truth = fm.labels[idx]!;
      const filed = wrongSet.has(k) ? otherClass(truth) : truth;
      const rel = `${classes[filed]}/fm-${idx}.png`;
      pathOf.set(k, rel);
      const pixels = Buffer.from(fm.images.subarray(idx * px, (idx + 1) * px));
      writeFileSync(join(root, rel), await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
      if (filed !== truth) out.wrong.push({ path: rel, filed: classes[filed]!, truth: classes[truth]! });
    },
  );
  out.wrong.sort((a, b) => (a.path < b.path ? -1 : 1));
  const kinds = ['brightness', 'noise', 'jpeg'] as const;
  for (const [m, k] of copySources.entries()) {
    const idx = picked[k]!;
    const truth = fm.labels[idx]!;
    const kind = kinds[m % 3]!;
    const crossClass = m < nCross;
    const filed = crossClass ? otherClass(truth) : truth;
    const src = fm.images.subarray(idx * px, (idx + 1) * px);
    let bytes: Buffer;
    const raw = { raw: { width: 28, height: 28, channels: 1 as const } };
    if (kind === 'brightness') bytes = await sharp(Buffer.from(src.map((v: number) => Math.min(255, Math.round(v * 1.2 + 12)))), raw).png().toBuffer();
    else if (kind === 'noise') bytes = await sharp(Buffer.from(src.map((v: number) => Math.max(0, Math.min(255, Math.round(v + (rnd() - 0.5) * 24))))), raw).png().toBuffer();
    else bytes = await sharp(Buffer.from(src), raw).jpeg({ quality: 70 }).toBuffer();
    const rel = `${classes[filed]}/copy-${idx}.${kind === 'jpeg' ? 'jpg' : 'png'}`;
    writeFileSync(join(root, rel), bytes);
    out.copies.push({ path: rel, original: pathOf.get(k)!, kind, crossClass });
  }
  out.images = n + out.copies.length;
  return out;
}

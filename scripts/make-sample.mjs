#!/usr/bin/env node
// Makes the bundled sample dataset resources/sample/fashion-mnist/<class>/*.png from Debian's
// dataset-fashion-mnist (Fashion-MNIST, © Zalando SE, MIT licence; see resources/sample/LICENSE-fashion-mnist).
// Usage: node scripts/make-sample.mjs [--per-class 120] [--out resources/sample/fashion-mnist]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { FASHION_MNIST_CLASSES, pickPerClass, readFashionMnist } from './lib/fashion-mnist.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const perClass = Number(opt('--per-class', '120'));
const out = opt('--out', join('resources', 'sample', 'fashion-mnist'));

const ds = readFashionMnist('train');
rmSync(out, { recursive: true, force: true });
for (const name of FASHION_MNIST_CLASSES) mkdirSync(join(out, name), { recursive: true });
const size = ds.rows * ds.cols;
const picked = pickPerClass(ds.labels, perClass);
await Promise.all(
  picked.map((i) =>
    sharp(Buffer.from(ds.images.subarray(i * size, (i + 1) * size)), { raw: { width: ds.cols, height: ds.rows, channels: 1 } })
      .png({ compressionLevel: 9 })
      .toFile(join(out, FASHION_MNIST_CLASSES[ds.labels[i]], `fmnist-train-${String(i).padStart(5, '0')}.png`)),
  ),
);
console.log(`wrote ${picked.length} images (${perClass} per class) to ${out}`);

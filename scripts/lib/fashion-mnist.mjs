// Reads Debian's dataset-fashion-mnist (IDX files, gzip) — used by the sample maker, fixtures and benches.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';

export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  't-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot',
];

function readIdx(file) {
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`);
  }
  const buf = gunzipSync(readFileSync(file));
  const magic = buf.readUInt32BE(0);
  const dims = magic & 0xff;
  const shape = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * dims, shape.reduce((a, b) => a * b, 1)) };
}

/** `{count, rows, cols, images (count*rows*cols bytes), labels (count bytes)}` of the train or test split. */
export function readFashionMnist(split = 'train', dir = FASHION_MNIST_DIR) {
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  const [count, rows, cols] = images.shape;
  return { count, rows, cols, images: images.data, labels: labels.data };
}

/**
 * Picks `perClass` indices per class, in file order (deterministic), skipping the first `offset` of each class.
 */
export function pickPerClass(labels, perClass, offset = 0) {
  const seen = new Array(10).fill(0);
  const picked = [];
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    const k = seen[c]++;
    if (k >= offset && k < offset + perClass) picked.push(i);
  }
  return picked;
}

/**
 * A real pretrained ONNX backbone for tests: a small CNN trained here by tfjs on Debian's Fashion-MNIST test
 * set (none of whose images is in the app's sample, which comes from the training set), its 64-d feature layer
 * exported to ONNX by the project's converter. Deterministic: seeded initialisers, no shuffle.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { exportOnnx } from '../../src-main/export/onnx/convert';
import { initEngine } from '../../src-main/training/engine/index';
// @ts-expect-error: a plain .mjs helper shared with the benchmarks (no types)
import { FASHION_MNIST_CLASSES, pickPerClass, readFashionMnist } from '../../scripts/lib/fashion-mnist.mjs';

/**
 * Trains a small CNN on Debian's Fashion-MNIST test set (10,000 images: none of them is in the app's sample,
 * which comes from the training set) and writes its 64-d feature layer as an ONNX backbone.
 */
export async function pretrainFashionBackbone(file: string, classes: readonly string[], perClass = 1000): Promise<void> {
  await initEngine({ backend: 'wasm' });
  const fm = readFashionMnist('test');
  const wanted = new Map(classes.map((c, k) => [FASHION_MNIST_CLASSES.indexOf(c), k]));
  const picked = pickPerClass(fm.labels, perClass);
  const px = 28 * 28;
  const xs = new Float32Array(picked.length * px);
  const ys = new Int32Array(picked.length);
  picked.forEach((i: number, n: number) => {
    for (let j = 0; j < px; j++) xs[n * px + j] = fm.images[i * px + j]! / 255;
    ys[n] = wanted.get(fm.labels[i]!)!;
  });
  const seed = (n: number) => tf.initializers.glorotUniform({ seed: n });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: seed(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: seed(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', name: 'features', kernelInitializer: seed(3) }),
      tf.layers.dense({ units: classes.length, kernelInitializer: seed(4) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.003), loss: tf.losses.softmaxCrossEntropy });
  const x = tf.tensor4d(xs, [ys.length, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(ys, 'int32'), classes.length);
  // No shuffle: tfjs shuffles with Math.random, and the test must give the same backbone every time (the picked
  // images are already in the file's mixed class order).
  await model.fit(x, y, { epochs: 6, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  const features = tf.model({ inputs: model.inputs, outputs: model.getLayer('features').output as tf.SymbolicTensor });
  writeFileSync(file, exportOnnx(features));
  model.dispose();
}


/**
 * Child process for threads.test.ts: initialises wasm with the thread count given in argv[2], runs three Adam
 * steps of a small conv net from fixed seeds and prints the sha256 of every loss and final weight, then lets
 * the process end by itself.
 */
import { createHash } from 'node:crypto';
import { initEngine, loadTf } from '../../../src-main/training/engine/index';

void (async () => {
  const threads = Number(process.argv[2]);
  const info = await initEngine({ backend: 'wasm', threads });
  const tf = loadTf();
  const r = (shape: number[], seed: number) => tf.randomUniform(shape, -0.5, 0.5, 'float32', seed);
  const vars = [r([3, 3, 3, 16], 1), r([3, 3, 16, 32], 2), r([3, 3, 32, 1], 3), r([32 * 4 * 4, 10], 4)].map((t) => tf.variable(t));
  const x = r([32, 16, 16, 3], 5) as import('@tensorflow/tfjs').Tensor4D;
  const y = tf.softmax(r([32, 10], 6));
  const opt = tf.train.adam(1e-2);
  const hash = createHash('sha256');
  for (let step = 0; step < 3; step++) {
    const loss = opt.minimize(() => {
      let h = tf.relu(tf.conv2d(x, vars[0] as never, 1, 'same'));
      h = tf.relu(tf.conv2d(h, vars[1] as never, 2, 'same'));
      h = tf.relu6(tf.depthwiseConv2d(h, vars[2] as never, 1, 'same'));
      h = tf.maxPool(h, 2, 2, 'valid');
      return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.reshape(h, [32, -1]), vars[3] as never)) as never;
    }, true)!;
    hash.update(Buffer.from((await loss.data()).buffer));
    loss.dispose();
  }
  for (const v of vars) hash.update(Buffer.from((await v.data()).buffer));
  process.stdout.write(`${JSON.stringify({ threads: info.threads, device: info.device, hash: hash.digest('hex') })}\n`);
  // No process.exit: the process must end by itself (the pthread workers must not hold it open).
})();

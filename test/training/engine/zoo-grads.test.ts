/**
 * The model zoo's BatchNorm and depthwise nets train on wasm: one step's loss and gradients for ResNet-20 and
 * the MobileNetV2-style net equal the cpu backend's (the kernels their training needs on wasm: conv and
 * depthwise backprops, Tile/Mean/Sum for BatchNorm, Relu6's gradient, strided convs' col2im path).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../../src-main/training/engine/index';
import { buildNetwork, forwardLogits } from '../../../src-main/training/models';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

async function lossAndGrads(arch: string, size: number, backend: string): Promise<{ loss: number; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  const net = buildNetwork({ arch, inputSize: [size, size], channels: 3, numClasses: 4 }, 3);
  const x = tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 11);
  const y = tf.tidy(() => tf.softmax(tf.randomNormal([2, 4], 0, 1, 'float32', 12)));
  const vars = net.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, forwardLogits(net, x, true)) as tf.Scalar, vars);
  const out = await Promise.all(vars.map(async (v) => (await grads[v.name]!.data()) as Float32Array));
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads), x, y]);
  net.model.dispose();
  return { loss, grads: out };
}

describe('model zoo training on wasm', () => {
  // Small inputs keep the cpu reference fast. Twenty BatchNorm layers amplify float32 summation-order
  // differences, so the deepest gradients agree to ~1e-3 relative; a missing or wrong kernel is off by O(1).
  for (const [arch, size] of [['resnet20', 8], ['mobilenetv2', 32]] as const) {
    it(`${arch}: one step's loss and every weight gradient match the cpu backend`, async () => {
      const w = await lossAndGrads(arch, size, 'wasm');
      const c = await lossAndGrads(arch, size, 'cpu');
      expect(Math.abs(w.loss - c.loss)).toBeLessThan(1e-4);
      expect(w.grads.length).toBe(c.grads.length);
      expect(w.grads.length).toBeGreaterThan(10);
      for (let i = 0; i < c.grads.length; i++) {
        let err = 0;
        let scale = 1e-3;
        for (let j = 0; j < c.grads[i]!.length; j++) {
          err = Math.max(err, Math.abs(w.grads[i]![j]! - c.grads[i]![j]!));
          scale = Math.max(scale, Math.abs(c.grads[i]![j]!));
        }
        expect(err / scale, `${arch} gradient #${i}`).toBeLessThan(1e-2);
      }
    });
  }
});

/**
 * Backend selection and end-to-end training on wasm: the engine reports what it tried and why, and a conv
 * net's gradients on wasm (with the engine's kernels) equal the cpu backend's.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initEngine, BACKEND_ORDER } from '../../../src-main/training/engine/index';
import { AppError } from '../../../src-main/core/errors';

/** A small net touching every kernel the engine adds: conv (stride 1 and 2), depthwise, batch norm (Mean, Tile, Sum), max-pool, dense. */
function lossOf(vars: Record<string, tf.Variable>, x: tf.Tensor4D, y: tf.Tensor2D): () => tf.Scalar {
  return () => {
    let h: tf.Tensor4D = tf.relu(tf.conv2d(x, vars.c1 as tf.Tensor4D, 1, 'valid'));
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.depthwiseConv2d(h, vars.dw as tf.Tensor4D, 1, 'same');
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    h = tf.relu6(tf.batchNorm(h, mean, variance, vars.beta as tf.Tensor1D, vars.gamma as tf.Tensor1D, 1e-3)) as tf.Tensor4D;
    h = tf.relu(tf.conv2d(h, vars.c2 as tf.Tensor4D, 2, 'same'));
    h = tf.maxPool(h, 3, 2, 'same');
    const flat = tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(flat, vars.d as tf.Tensor2D), vars.b as tf.Tensor1D) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
}

async function gradsOn(backend: string): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  await tf.setBackend(backend);
  const r = (shape: number[], seed: number) => tf.randomUniform(shape, -0.5, 0.5, 'float32', seed);
  // tidy frees the initial values; the variables keep their data.
  const vars = tf.tidy(() => ({
    c1: tf.variable(r([3, 3, 2, 6], 1), true, `c1_${backend}`),
    dw: tf.variable(r([3, 3, 6, 2], 2), true, `dw_${backend}`),
    c2: tf.variable(r([3, 3, 12, 8], 3), true, `c2_${backend}`),
    d: tf.variable(r([8 * 2 * 2, 5], 4), true, `d_${backend}`),
    b: tf.variable(r([5], 5), true, `b_${backend}`),
    gamma: tf.variable(tf.add(r([12], 8), 1), true, `gamma_${backend}`),
    beta: tf.variable(r([12], 9), true, `beta_${backend}`),
  }));
  const x = r([3, 14, 14, 2], 6) as tf.Tensor4D;
  const y = tf.tidy(() => tf.softmax(r([3, 5], 7))) as tf.Tensor2D;
  const { value, grads } = tf.variableGrads(lossOf(vars, x, y));
  const out: Record<string, Float32Array> = {};
  for (const [k, g] of Object.entries(grads)) out[k.split('_')[0]!] = (await g.data()) as Float32Array;
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads), ...Object.values(vars), x, y]);
  return { loss, grads: out };
}

describe('engine', () => {
  it('reports every backend it tried, in order, with the reason each unusable one was skipped', async () => {
    const info = await initEngine();
    expect(BACKEND_ORDER).toEqual(['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu']);
    expect(info.tried.map((t) => t.backend)).toEqual(BACKEND_ORDER.slice(0, info.tried.length));
    // On these CPU-only machines none of the native/GPU backends load; each says why.
    for (const t of info.tried.slice(0, -1)) expect(t.error, t.backend).toMatch(/not installed|does not load|no adapter|no CUDA/);
    expect(info.tried.at(-1)!.error).toBeUndefined();
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.device).toMatch(/XNNPACK/);
  });

  it('--backend X tries only X, and fails with a clear unsupported error naming the backend when X cannot load', async () => {
    const err = await initEngine({ backend: 'tfjs-node-gpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).kind).toBe('unsupported');
    expect((err as AppError).message).toMatch(/tfjs-node-gpu/);
    const cpu = await initEngine({ backend: 'cpu' });
    expect(cpu.tried).toEqual([{ backend: 'cpu' }]);
    expect(cpu.warnings.join(' ')).toMatch(/slower/);
    expect(tf.getBackend()).toBe('cpu');
    await expect(initEngine({ backend: 'nope' as never })).rejects.toThrow(/unknown backend 'nope'/);
    await expect(initEngine({ backend: 'wasm', threads: 0 })).rejects.toThrow(/threads/);
  });

  it('a conv net (conv, depthwise, batch norm, max-pool, dense) has the same loss and gradients on wasm as on cpu', async () => {
    await initEngine({ backend: 'wasm' });
    const w = await gradsOn('wasm');
    const c = await gradsOn('cpu');
    expect(Math.abs(w.loss - c.loss)).toBeLessThan(1e-5);
    expect(Object.keys(w.grads).sort()).toEqual(['b', 'beta', 'c1', 'c2', 'd', 'dw', 'gamma']);
    for (const k of Object.keys(c.grads)) {
      const a = w.grads[k]!;
      const b = c.grads[k]!;
      let err = 0;
      let scale = 1e-3;
      for (let i = 0; i < b.length; i++) {
        err = Math.max(err, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
      expect(err / scale, `gradient of ${k}`).toBeLessThan(1e-4);
    }
  });

  it('same inputs on wasm give bit-identical gradients run after run', async () => {
    await initEngine({ backend: 'wasm' });
    const a = await gradsOn('wasm');
    const b = await gradsOn('wasm');
    expect(a.loss).toBe(b.loss);
    for (const k of Object.keys(a.grads)) expect(Buffer.from(a.grads[k]!.buffer).equals(Buffer.from(b.grads[k]!.buffer)), k).toBe(true);
  });

  it('training steps on wasm leave no tensor data behind on the backend (kernel temporaries are freed)', async () => {
    await initEngine({ backend: 'wasm' });
    await gradsOn('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await gradsOn('wasm');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(before);
  });
});

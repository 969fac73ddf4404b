/**
 * Every kernel the engine registers on the wasm backend is checked against the tfjs cpu backend (the reference
 * implementation) on random shapes, strides, paddings, dilations and batch sizes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../../src-main/training/engine/index';

/** Deterministic uniform draws for the test cases (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
function randArray(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

type Inputs = Record<string, { shape: number[]; values: Float32Array }>;

async function runKernel(backend: 'cpu' | 'wasm', kernel: string, inputs: Inputs, attrs: object): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.values, v.shape, 'float32');
  const out = tf.engine().runKernel(kernel, ts as never, attrs as never) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  const shape = out.shape.slice();
  out.dispose();
  for (const t of Object.values(ts)) t.dispose();
  return { shape, values };
}

async function expectSameOnBothBackends(kernel: string, inputs: Inputs, attrs: object, label: string): Promise<void> {
  const ref = await runKernel('cpu', kernel, inputs, attrs);
  const got = await runKernel('wasm', kernel, inputs, attrs);
  expect(got.shape, label).toEqual(ref.shape);
  let maxErr = 0;
  let scale = 1;
  for (let i = 0; i < ref.values.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(ref.values[i]! - got.values[i]!));
    scale = Math.max(scale, Math.abs(ref.values[i]!));
  }
  expect(maxErr / scale, `${label}: max abs error ${maxErr} (scale ${scale})`).toBeLessThan(1e-4);
}


/**
 * The cpu backend's depthwise backprop kernels ignore dilations (tfjs only differentiates undilated depthwise
 * convs), so dilated cases are checked by the adjoint identity against the cpu *forward* conv instead:
 * <dy, conv(x, W)> = <dW(x, dy), W> = <dx(dy, W), x>.
 */
async function expectDepthwiseAdjoint(
  x: { shape: number[]; values: Float32Array },
  w: { shape: number[]; values: Float32Array },
  dy: Float32Array,
  attrs: { strides: number[]; dilations: number[]; pad: 'valid' | 'same' },
  label: string,
): Promise<void> {
  await tf.setBackend('cpu');
  const fwd = tf.depthwiseConv2d(tf.tensor4d(x.values, x.shape as never), tf.tensor4d(w.values, w.shape as never), attrs.strides as [number, number], attrs.pad, 'NHWC', attrs.dilations as [number, number]);
  const fv = await fwd.data();
  const dyShape = fwd.shape.slice();
  fwd.dispose();
  let lhs = 0;
  for (let i = 0; i < fv.length; i++) lhs += fv[i]! * dy[i]!;
  const dW = await runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy: { shape: dyShape, values: dy } }, { ...attrs, filterShape: w.shape });
  const dX = await runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: { shape: dyShape, values: dy }, filter: w }, { ...attrs, inputShape: x.shape });
  let viaW = 0;
  for (let i = 0; i < w.values.length; i++) viaW += dW.values[i]! * w.values[i]!;
  let viaX = 0;
  for (let i = 0; i < x.values.length; i++) viaX += dX.values[i]! * x.values[i]!;
  const tol = 1e-4 * Math.max(1, Math.abs(lhs));
  expect(Math.abs(viaW - lhs), `${label}: <dW, W> vs <dy, y>`).toBeLessThan(tol);
  expect(Math.abs(viaX - lhs), `${label}: <dx, x> vs <dy, y>`).toBeLessThan(tol);
}

/** Output size of a conv/pool along one axis, as tfjs computes it. */
function outSize(inSize: number, k: number, s: number, d: number, pad: 'valid' | 'same'): number {
  const eff = (k - 1) * d + 1;
  return pad === 'same' ? Math.ceil(inSize / s) : Math.ceil((inSize - eff + 1) / s);
}

beforeAll(async () => {
  const info = await initEngine({ backend: 'wasm' });
  expect(info.backend).toBe('wasm');
  await tf.setBackend('cpu');
});

/**
 * A random depthwise-conv case for the backprop kernels (every third one dilated). For a dilated case it also
 * draws the operands of the adjoint check, which both kernels share.
 */
function depthwiseCase(r: () => number, t: number) {
  const n = pick(r, [1, 2, 3]);
  const k = [int(r, 1, 3), int(r, 1, 3)];
  const dil = t % 3 === 0 ? [2, 2] : [1, 1];
  const s = dil[0] === 1 ? [int(r, 1, 2), int(r, 1, 2)] : [1, 1];
  const pad = pick(r, ['valid', 'same'] as const);
  const h = int(r, (k[0]! - 1) * dil[0]! + 1, 10);
  const w = int(r, (k[1]! - 1) * dil[1]! + 1, 10);
  const c = int(r, 1, 6);
  const mult = pick(r, [1, 1, 2, 3]);
  const oh = outSize(h, k[0]!, s[0]!, dil[0]!, pad);
  const ow = outSize(w, k[1]!, s[1]!, dil[1]!, pad);
  const dilated: Parameters<typeof expectDepthwiseAdjoint> | undefined =
    dil[0] !== 1
      ? [
          { shape: [n, h, w, c], values: randArray(r, n * h * w * c) },
          { shape: [k[0]!, k[1]!, c, mult], values: randArray(r, k[0]! * k[1]! * c * mult) },
          randArray(r, n * oh * ow * c * mult),
          { strides: s, dilations: dil, pad },
          `adjoint n${n} ${h}x${w}x${c} k${k} d${dil} ${pad} m${mult}`,
        ]
      : undefined;
  return { n, k, dil, s, pad, h, w, c, mult, oh, ow, dilated };
}

describe('wasm training kernels match the cpu backend', () => {
  it('Conv2DBackpropFilter: random shapes, strides 1-3, valid/same padding, batch 1..5', async () => {
    const r = rng(1);
    for (let t = 0; t < 14; t++) {
      const n = pick(r, [1, 1, 2, 5]);
      const k = [int(r, 1, 4), int(r, 1, 4)];
      const s = [int(r, 1, 3), int(r, 1, 3)];
      const pad = pick(r, ['valid', 'same'] as const);
      const h = int(r, k[0]!, 11);
      const w = int(r, k[1]!, 11);
      const cin = int(r, 1, 6);
      const cout = int(r, 1, 7);
      const oh = outSize(h, k[0]!, s[0]!, 1, pad);
      const ow = outSize(w, k[1]!, s[1]!, 1, pad);
      const label = `n${n} ${h}x${w}x${cin} k${k} s${s} ${pad} cout${cout}`;
      await expectSameOnBothBackends(
        'Conv2DBackpropFilter',
        { x: { shape: [n, h, w, cin], values: randArray(r, n * h * w * cin) }, dy: { shape: [n, oh, ow, cout], values: randArray(r, n * oh * ow * cout) } },
        { strides: s, pad, dataFormat: 'NHWC', filterShape: [k[0], k[1], cin, cout] },
        label,
      );
    }
  });

  it('Conv2DBackpropInput: random shapes, strides 1-3, valid/same padding, batch 1..5', async () => {
    const r = rng(2);
    for (let t = 0; t < 14; t++) {
      const n = pick(r, [1, 1, 3, 5]);
      const k = [int(r, 1, 4), int(r, 1, 4)];
      const s = [int(r, 1, 3), int(r, 1, 3)];
      const pad = pick(r, ['valid', 'same'] as const);
      const h = int(r, k[0]!, 11);
      const w = int(r, k[1]!, 11);
      const cin = int(r, 1, 6);
      const cout = int(r, 1, 7);
      const oh = outSize(h, k[0]!, s[0]!, 1, pad);
      const ow = outSize(w, k[1]!, s[1]!, 1, pad);
      await expectSameOnBothBackends(
        'Conv2DBackpropInput',
        { dy: { shape: [n, oh, ow, cout], values: randArray(r, n * oh * ow * cout) }, filter: { shape: [k[0]!, k[1]!, cin, cout], values: randArray(r, k[0]! * k[1]! * cin * cout) } },
        { strides: s, pad, dataFormat: 'NHWC', inputShape: [n, h, w, cin] },
        `n${n} ${h}x${w}x${cin} k${k} s${s} ${pad} cout${cout}`,
      );
    }
  });

  it('MaxPoolGrad: random windows, strides, valid/same padding, ties (ReLU zeros) routed to the first max, NaNs skipped', async () => {
    const r = rng(3);
    for (let t = 0; t < 14; t++) {
      const n = pick(r, [1, 2, 4]);
      const f = [int(r, 1, 3), int(r, 1, 3)];
      const s = [int(r, 1, 3), int(r, 1, 3)];
      const pad = pick(r, ['valid', 'same'] as const);
      const h = int(r, f[0]!, 10);
      const w = int(r, f[1]!, 10);
      const c = int(r, 1, 5);
      // ReLU'd inputs (many ties at 0) on even cases; some NaNs (ignored by the cpu rule) on two cases.
      const x = randArray(r, n * h * w * c).map((v, i) => (t % 2 === 0 ? Math.max(0, v) : t % 5 === 3 && i % 3 === 0 ? Number.NaN : v));
      const xT = tf.tensor4d(x, [n, h, w, c]);
      await tf.setBackend('cpu');
      const y = tf.maxPool(tf.tensor4d(x, [n, h, w, c]), f as [number, number], s as [number, number], pad);
      const yv = (await y.data()) as Float32Array;
      const oh = y.shape[1];
      const ow = y.shape[2];
      y.dispose();
      xT.dispose();
      await expectSameOnBothBackends(
        'MaxPoolGrad',
        { dy: { shape: [n, oh, ow, c], values: randArray(r, n * oh * ow * c) }, input: { shape: [n, h, w, c], values: x }, output: { shape: [n, oh, ow, c], values: yv } },
        { filterSize: f, strides: s, pad },
        `n${n} ${h}x${w}x${c} f${f} s${s} ${pad}`,
      );
    }
  });

  it('DepthwiseConv2dNativeBackpropFilter: strides, channel multipliers, valid/same vs cpu; dilations by the adjoint identity', async () => {
    const r = rng(4);
    for (let t = 0; t < 14; t++) {
      const { n, k, dil, s, pad, h, w, c, mult, oh, ow, dilated } = depthwiseCase(r, t);
      if (dilated) {
        await expectDepthwiseAdjoint(...dilated);
        continue;
      }
      await expectSameOnBothBackends(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: { shape: [n, h, w, c], values: randArray(r, n * h * w * c) }, dy: { shape: [n, oh, ow, c * mult], values: randArray(r, n * oh * ow * c * mult) } },
        { strides: s, dilations: dil, pad, filterShape: [k[0], k[1], c, mult] },
        `n${n} ${h}x${w}x${c} k${k} s${s} d${dil} ${pad} m${mult}`,
      );
    }
  });

  it('DepthwiseConv2dNativeBackpropInput: strides, channel multipliers, valid/same vs cpu; dilations by the adjoint identity', async () => {
    const r = rng(5);
    for (let t = 0; t < 14; t++) {
      const { n, k, dil, s, pad, h, w, c, mult, oh, ow, dilated } = depthwiseCase(r, t);
      if (dilated) {
        await expectDepthwiseAdjoint(...dilated);
        continue;
      }
      await expectSameOnBothBackends(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: { shape: [n, oh, ow, c * mult], values: randArray(r, n * oh * ow * c * mult) }, filter: { shape: [k[0]!, k[1]!, c, mult], values: randArray(r, k[0]! * k[1]! * c * mult) } },
        { strides: s, dilations: dil, pad, inputShape: [n, h, w, c] },
        `n${n} ${h}x${w}x${c} k${k} s${s} d${dil} ${pad} m${mult}`,
      );
    }
  });

  it('BatchMatMul: every transpose combination, 2-D and batch-1 3-D, falls back correctly for batch > 1', async () => {
    const r = rng(6);
    for (let t = 0; t < 16; t++) {
      const ta = t % 2 === 1;
      const tb = (t >> 1) % 2 === 1;
      const rank3 = t >= 8;
      const batch = rank3 && t >= 12 ? 3 : 1;
      const m = int(r, 1, 40);
      const k = int(r, 1, 40);
      const n = int(r, 1, 40);
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      const a3 = rank3 ? [batch, ...aShape] : aShape;
      const b3 = rank3 ? [batch, ...bShape] : bShape;
      await expectSameOnBothBackends(
        'BatchMatMul',
        { a: { shape: a3, values: randArray(r, a3.reduce((p, q) => p * q, 1)) }, b: { shape: b3, values: randArray(r, b3.reduce((p, q) => p * q, 1)) } },
        { transposeA: ta, transposeB: tb },
        `a${a3} b${b3} tA${ta} tB${tb}`,
      );
    }
  });
  it('Sum: leading-axis reductions (bias gradients) and every other axis set, with and without keepDims', async () => {
    const r = rng(7);
    for (let t = 0; t < 16; t++) {
      const rank = int(r, 1, 4);
      const shape = Array.from({ length: rank }, () => int(r, 1, 7));
      const all = shape.map((_, i) => i);
      const axis = t % 2 === 0 ? all.slice(0, int(r, 1, rank)) : all.filter(() => r() < 0.5);
      const keepDims = r() < 0.5;
      const size = shape.reduce((p, q) => p * q, 1);
      await expectSameOnBothBackends('Sum', { x: { shape, values: randArray(r, size) } }, { axis, keepDims }, `shape ${shape} axis ${axis} keepDims ${keepDims}`);
    }
  });

  it('Mean: leading-axis reductions (BatchNorm statistics) and every other axis set, with and without keepDims', async () => {
    const r = rng(8);
    for (let t = 0; t < 16; t++) {
      const rank = int(r, 1, 4);
      const shape = Array.from({ length: rank }, () => int(r, 1, 7));
      const all = shape.map((_, i) => i);
      const axis = t % 2 === 0 ? all.slice(0, int(r, 1, rank)) : all.filter(() => r() < 0.5);
      const keepDims = r() < 0.5;
      const size = shape.reduce((p, q) => p * q, 1);
      await expectSameOnBothBackends('Mean', { x: { shape, values: randArray(r, size) } }, { axis, keepDims }, `shape ${shape} axis ${axis} keepDims ${keepDims}`);
    }
  });

  it('Tile: random ranks 1-5 and repetitions (incl. the per-channel broadcast BatchNorm gradients use)', async () => {
    const r = rng(9);
    const cases: Array<[number[], number[]]> = [[[1, 1, 1, 6], [4, 5, 5, 1]]];
    for (let t = 0; t < 15; t++) {
      const rank = int(r, 1, 5);
      cases.push([Array.from({ length: rank }, () => int(r, 1, 4)), Array.from({ length: rank }, () => int(r, 1, 3))]);
    }
    for (const [shape, reps] of cases) {
      const size = shape.reduce((p, q) => p * q, 1);
      await expectSameOnBothBackends('Tile', { x: { shape, values: randArray(r, size) } }, { reps }, `shape ${shape} reps ${reps}`);
    }
  });

  it('Cast: same-dtype casts share data, real conversions (float↔int, bool) still convert like cpu', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1.5, -2.25, 3]);
    const same = tf.cast(a, 'float32');
    const toInt = tf.cast(a, 'int32');
    const toBool = tf.cast(a, 'bool');
    a.dispose();
    expect(Array.from(await same.data())).toEqual([1.5, -2.25, 3]);
    expect(same.dtype).toBe('float32');
    expect(Array.from(await toInt.data())).toEqual([1, -2, 3]);
    expect(toInt.dtype).toBe('int32');
    expect(Array.from(await toBool.data())).toEqual([1, 1, 1]);
    tf.dispose([same, toInt, toBool]);
  });

  it('Identity shares data safely: the source stays intact and both tensors can be disposed independently', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.engine().runKernel('Identity', { x: a }) as tf.Tensor;
    const c = tf.add(b, 1);
    a.dispose();
    expect(Array.from(await b.data())).toEqual([1, 2, 3]);
    expect(Array.from(await c.data())).toEqual([2, 3, 4]);
    b.dispose();
    c.dispose();
  });
});

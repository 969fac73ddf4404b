import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertToOnnx, exportOnnx } from '../../src-main/export/onnx/convert';
import { permute } from '../../src-main/export/onnx/graph';
import { samePadding } from '../../src-main/export/onnx/layers';
import { readFields } from '../../src-main/export/onnx/protobuf';
import { buildModel, type Arch } from '../../src-main/training/models';
import { decodeImage } from '../../src-main/training/decode';

const SAMPLE = resolve(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');

/** A few real Fashion-MNIST images, one or two per class, decoded as training decodes them. */
async function realBatch(size: [number, number], channels: 1 | 3, count: number): Promise<tf.Tensor4D> {
  const classes = readdirSync(SAMPLE).sort();
  const files: string[] = [];
  for (let i = 0; files.length < count; i++) {
    const dir = join(SAMPLE, classes[i % classes.length]!);
    const names = readdirSync(dir).sort();
    files.push(join(dir, names[Math.floor(i / classes.length)]!));
  }
  const px = size[0] * size[1] * channels;
  const x = new Float32Array(count * px);
  for (let i = 0; i < files.length; i++) {
    const raw = await decodeImage(files[i]!, size, channels);
    for (let j = 0; j < px; j++) x[i * px + j] = (raw[j]! / 255 - 0.3) / 0.35;
  }
  return tf.tensor4d(x, [count, size[0], size[1], channels]);
}

/**
 * Gives every BatchNormalization the statistics a trained model would have: moving mean/variance measured
 * on real images (layer by layer, in order), with seeded random gamma/beta. Otherwise a freshly built deep
 * net maps every image to nearly the same output and a parity check would prove little.
 */
async function calibrateBatchNorm(model: tf.LayersModel, seed: number, calibration: tf.Tensor4D): Promise<void> {
  // One eager pass through the layers in order: each BatchNormalization gets the moments of what reaches it.
  let s = seed;
  const values = new Map<number, tf.Tensor>([[model.inputs[0]!.id, calibration]]);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes.find((n) => n.inputTensors.every((t) => values.has(t.id)) && !values.has(n.outputTensors[0]!.id));
    if (!node) continue;
    const ins = node.inputTensors.map((t) => values.get(t.id)!);
    if (layer.getClassName() === 'BatchNormalization') {
      const h = ins[0]!;
      const { mean, variance } = tf.moments(h, h.shape.slice(0, -1).map((_, i) => i));
      layer.setWeights(
        layer.weights.map((w) => {
          const name = w.originalName ?? w.name;
          s += 1;
          if (name.endsWith('gamma')) return tf.randomUniform(w.shape as number[], 0.6, 1.4, 'float32', s);
          if (name.endsWith('beta')) return tf.randomUniform(w.shape as number[], -0.3, 0.3, 'float32', s);
          return name.endsWith('moving_mean') ? mean : variance;
        }),
      );
    }
    values.set(node.outputTensors[0]!.id, layer.apply(ins.length === 1 ? ins[0]! : ins) as tf.Tensor);
  }
}

/** Scales the logits layer so a randomly initialised net gives confident, image-dependent outputs. */
function sharpenLogits(model: tf.LayersModel, factor: number): void {
  const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense')!;
  const [kernel, ...rest] = dense.getWeights();
  dense.setWeights([kernel!.mul(factor), ...rest]);
}

async function onnxPredict(bytes: Uint8Array, x: tf.Tensor4D): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
  const t = out.probabilities!;
  return { data: t.data as Float32Array, dims: t.dims };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ONNX export of the app architectures', () => {
  const cases: Array<{ arch: Arch; size: [number, number]; channels: 1 | 3 }> = [
    { arch: 'cnn-small', size: [28, 28], channels: 1 },
    { arch: 'resnet20', size: [16, 16], channels: 1 },
    { arch: 'mobilenetv2', size: [32, 32], channels: 3 },
  ];
  for (const c of cases) {
    it(`${c.arch}: onnxruntime gives the tfjs softmax probabilities (max abs diff ≤ 1e-4) on real images, any batch size`, async () => {
      const model = buildModel({ arch: c.arch, inputSize: c.size, channels: c.channels, numClasses: 10 }, 11);
      await calibrateBatchNorm(model, 5, await realBatch(c.size, c.channels, 10));
      sharpenLogits(model, 20);
      const bytes = exportOnnx(model);
      for (const n of [1, 7]) {
        const x = await realBatch(c.size, c.channels, n);
        const ref = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
        const got = await onnxPredict(bytes, x);
        expect(got.dims).toEqual([n, 10]);
        expect(maxAbsDiff(ref, got.data)).toBeLessThanOrEqual(1e-4);
        // The outputs really depend on the image, far beyond the tolerance (so the check can fail).
        if (n > 1) {
          const rows = Array.from({ length: n }, (_, i) => ref.subarray(i * 10, i * 10 + 10));
          const spread = Math.max(...rows.slice(1).map((r) => maxAbsDiff(rows[0]!, r)));
          expect(spread).toBeGreaterThan(0.02);
        }
      }
      model.dispose();
    });
  }
});

describe('ONNX export of every supported layer kind', () => {
  it('matches tfjs through strided/dilated/same/valid convs, depthwise ×2, zero padding before pools, flatten→dense, add, dropout', async () => {
    const inp = tf.input({ shape: [28, 28, 1] });
    const ap = <T>(l: { apply(x: any): unknown }, x: T) => l.apply(x) as tf.SymbolicTensor;
    let x = ap(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), inp);
    x = ap(tf.layers.batchNormalization({ epsilon: 1e-5 }), x);
    const skip = x;
    let y = ap(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1 }), x);
    y = ap(tf.layers.reLU({ maxValue: 6 }), y);
    x = ap(tf.layers.add(), [skip, y]);
    x = ap(tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }), x);
    x = ap(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x);
    x = ap(tf.layers.zeroPadding2d({ padding: 1 }), x);
    x = ap(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x);
    x = ap(tf.layers.depthwiseConv2d({ kernelSize: 2, padding: 'valid', depthMultiplier: 2, activation: 'relu6' }), x);
    x = ap(tf.layers.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'tanh' }), x);
    x = ap(tf.layers.activation({ activation: 'sigmoid' }), x);
    x = ap(tf.layers.flatten(), x);
    x = ap(tf.layers.dropout({ rate: 0.5 }), x);
    x = ap(tf.layers.dense({ units: 16, activation: 'elu' }), x);
    x = ap(tf.layers.dense({ units: 10 }), x);
    x = ap(tf.layers.softmax(), x);
    const model = tf.model({ inputs: inp, outputs: x });
    await calibrateBatchNorm(model, 9, await realBatch([28, 28], 1, 12));
    const xs = (await realBatch([28, 28], 1, 6)).mul(2).sub(1) as tf.Tensor4D; // negative values reach the padded pools
    const ref = (model.predict(xs) as tf.Tensor).dataSync();
    const got = await onnxPredict(exportOnnx(model), xs);
    expect(maxAbsDiff(ref, got.data)).toBeLessThanOrEqual(1e-5);
  });

  it('keeps the tfjs NHWC flatten order (a Dense after Flatten sees the same feature order)', async () => {
    const inp = tf.input({ shape: [4, 5, 3] });
    const flat = tf.layers.flatten().apply(inp) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: flat });
    const x = tf.range(0, 60).reshape([1, 4, 5, 3]) as tf.Tensor4D;
    const got = await onnxPredict(exportOnnx(model), x);
    expect(Array.from(got.data)).toEqual(Array.from(x.dataSync()));
  });

  it('refuses a layer kind it cannot convert, naming the layer', () => {
    const inp = tf.input({ shape: [8, 8, 1] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'my_upsample' }).apply(inp) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: tf.layers.flatten().apply(up) as tf.SymbolicTensor });
    expect(() => convertToOnnx(model)).toThrow(/my_upsample.*UpSampling2D/);
  });
});

describe('ONNX writer internals', () => {
  it('computes TensorFlow SAME padding (extra pixel after) for strides and dilations', () => {
    expect(samePadding(28, 3, 1)).toEqual([1, 1]);
    expect(samePadding(28, 3, 2)).toEqual([0, 1]);
    expect(samePadding(15, 2, 2)).toEqual([0, 1]);
    expect(samePadding(9, 3, 1, 2)).toEqual([2, 2]);
    expect(samePadding(7, 1, 2)).toEqual([0, 0]);
  });

  it('permutes row-major data like numpy.transpose', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    const ref = tf.transpose(tf.tensor(data, [2, 3, 4]), [2, 0, 1]);
    const p = permute(data, [2, 3, 4], [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(Array.from(p.data)).toEqual(Array.from(ref.dataSync()));
  });

  it('writes a ModelProto with opset ≥ 13, a dynamic batch dimension and the labels in metadata', () => {
    const model = buildModel({ arch: 'cnn-small', inputSize: [8, 8], channels: 1, numClasses: 3 }, 1);
    const bytes = exportOnnx(model, { metadata: { labels: '["a","b","c"]' } });
    const top = readFields(bytes);
    const irVersion = top.find((f) => f.field === 1)!.value!;
    expect(irVersion).toBeGreaterThanOrEqual(7n);
    const opset = readFields(top.find((f) => f.field === 8)!.bytes!);
    expect(opset.find((f) => f.field === 2)!.value!).toBeGreaterThanOrEqual(13n);
    const meta = top.filter((f) => f.field === 14).map((f) => readFields(f.bytes!).map((e) => new TextDecoder().decode(e.bytes!)));
    expect(meta).toContainEqual(['labels', '["a","b","c"]']);
    const graph = readFields(top.find((f) => f.field === 7)!.bytes!);
    const input = readFields(graph.find((f) => f.field === 11)!.bytes!);
    const shape = readFields(readFields(readFields(input.find((f) => f.field === 2)!.bytes!)[0]!.bytes!).find((f) => f.field === 2)!.bytes!);
    const dims = shape.map((d) => readFields(d.bytes!)[0]!);
    expect(new TextDecoder().decode(dims[0]!.bytes!)).toBe('batch');
    expect(dims.slice(1).map((d) => Number(d.value))).toEqual([8, 8, 1]);
  });
});

/**
 * Real ONNX backbones for tests, written with the project's own ONNX writer (src-main/export/onnx/proto.ts) and
 * run by onnxruntime-node: a 1×1 convolution with seeded weights W (dim × channels) and bias, a ReLU, then a
 * global average pool to [N, dim] — or, with `pool: false`, the 4-D feature map for the importer to pool. So a
 * feature is `mean over pixels of relu(W·x + b)`, which a test can compute by hand from the decoded pixels.
 */
import { writeFileSync } from 'node:fs';
import { DataType, encodeModel, type OnnxDim, type OnnxNode, type OnnxTensor } from '../../src-main/export/onnx/proto';

export interface TestBackboneOptions {
  channels?: 1 | 3;
  /** Fixed H,W in the graph, or null for symbolic dims. */
  size?: [number, number] | null;
  layout?: 'NCHW' | 'NHWC';
  dim?: number;
  /** A fixed batch size (e.g. 1), or null for a symbolic batch axis. */
  batch?: number | null;
  /**
   * false: the output is the feature map (N,dim,H,W for NCHW input, N,H,W,dim for NHWC) instead of pooled
   * [N, dim]; 'flatten': the NCHW map flattened to [N, dim·H·W] (index d·H·W + y·W + x), so every pixel's
   * position shows in the features (see expectedMap).
   */
  pool?: boolean | 'flatten';
  seed?: number;
  /** The input's element type (INT64 makes a model that is not an image backbone). */
  inputType?: (typeof DataType)[keyof typeof DataType];
}

export interface TestBackbone {
  weights: Float32Array;
  bias: Float32Array;
  dim: number;
  channels: number;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

export function writeTestBackbone(file: string, o: TestBackboneOptions = {}): TestBackbone {
  const channels = o.channels ?? 3;
  const dim = o.dim ?? 8;
  const layout = o.layout ?? 'NCHW';
  const rnd = seeded(o.seed ?? 7);
  const weights = Float32Array.from({ length: dim * channels }, () => rnd());
  const bias = Float32Array.from({ length: dim }, () => rnd() * 0.1);
  const batch: OnnxDim = o.batch ?? 'batch';
  const [h, w]: OnnxDim[] = o.size === null ? ['height', 'width'] : (o.size ?? [32, 32]);
  const inputShape = layout === 'NCHW' ? [batch, channels, h, w] : [batch, h, w, channels];
  const nodes: OnnxNode[] = [];
  let x = 'image';
  if (layout === 'NHWC') {
    nodes.push({ opType: 'Transpose', name: 'to_nchw', inputs: [x], outputs: ['nchw'], attributes: [{ name: 'perm', kind: 'ints', value: [0, 3, 1, 2] }] });
    x = 'nchw';
  }
  nodes.push({ opType: 'Conv', name: 'conv', inputs: [x, 'W', 'B'], outputs: ['conv'], attributes: [{ name: 'kernel_shape', kind: 'ints', value: [1, 1] }] });
  nodes.push({ opType: 'Relu', name: 'relu', inputs: ['conv'], outputs: ['relu'] });
  let out = 'relu';
  let outShape: OnnxDim[] = [batch, dim, h, w];
  if (o.pool === 'flatten') {
    nodes.push({ opType: 'Flatten', name: 'flatten', inputs: ['relu'], outputs: ['features'], attributes: [{ name: 'axis', kind: 'int', value: 1 }] });
    out = 'features';
    outShape = [batch, typeof h === 'number' && typeof w === 'number' ? dim * h * w : 'features'];
  } else if (o.pool !== false) {
    nodes.push({ opType: 'GlobalAveragePool', name: 'gap', inputs: ['relu'], outputs: ['gap'] });
    nodes.push({ opType: 'Flatten', name: 'flatten', inputs: ['gap'], outputs: ['features'], attributes: [{ name: 'axis', kind: 'int', value: 1 }] });
    out = 'features';
    outShape = [batch, dim];
  }
  if (layout === 'NHWC' && o.pool === false) {
    nodes.push({ opType: 'Transpose', name: 'to_nhwc', inputs: ['relu'], outputs: ['map'], attributes: [{ name: 'perm', kind: 'ints', value: [0, 2, 3, 1] }] });
    out = 'map';
    outShape = [batch, h, w, dim];
  }
  const initializers: OnnxTensor[] = [
    { name: 'W', dims: [dim, channels, 1, 1], dataType: DataType.FLOAT, data: weights },
    { name: 'B', dims: [dim], dataType: DataType.FLOAT, data: bias },
  ];
  const bytes = encodeModel({
    irVersion: 8,
    opsetVersion: 18,
    producerName: 'mixup-studio-tests',
    producerVersion: '0',
    graph: {
      name: 'test-backbone',
      nodes,
      initializers,
      inputs: [{ name: 'image', elemType: o.inputType ?? DataType.FLOAT, shape: inputShape }],
      outputs: [{ name: out, elemType: DataType.FLOAT, shape: outShape }],
    },
  });
  writeFileSync(file, bytes);
  return { weights, bias, dim, channels };
}

/** The feature the test backbone gives for one image's normalised input `x` (channels last, h·w·c values). */
export function expectedFeature(b: TestBackbone, x: Float32Array): Float32Array {
  const px = x.length / b.channels;
  const out = new Float32Array(b.dim);
  for (let d = 0; d < b.dim; d++) {
    let s = 0;
    for (let i = 0; i < px; i++) {
      let v = b.bias[d]!;
      for (let c = 0; c < b.channels; c++) v += b.weights[d * b.channels + c]! * x[i * b.channels + c]!;
      s += Math.max(0, v);
    }
    out[d] = s / px;
  }
  return out;
}

/** The 'flatten' test backbone's features for one image's input `x` (channels last, h·w·c): relu(W·x + b) at every pixel, NCHW order. */
export function expectedMap(b: TestBackbone, x: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(b.dim * h * w);
  for (let d = 0; d < b.dim; d++) {
    for (let p = 0; p < h * w; p++) {
      let v = b.bias[d]!;
      for (let c = 0; c < b.channels; c++) v += b.weights[d * b.channels + c]! * x[p * b.channels + c]!;
      out[d * h * w + p] = Math.max(0, v);
    }
  }
  return out;
}

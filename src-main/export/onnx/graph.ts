/**
 * The plumbing of the ONNX conversion, shared by the driver (./convert.ts) and the layer converters
 * (./layers.ts): how a converted tensor is described, the tfjs layer as the converters see it, the graph
 * builder (unique names, nodes, initializers), reading a layer's weights, and reordering weight arrays.
 */
import type * as tf from '@tensorflow/tfjs';
import { AppError } from '../../core/errors';
import { DataType, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './proto';

/** How a converted tensor is laid out in the ONNX graph. */
export interface Value {
  name: string;
  /** 'nchw' for 4-D image tensors (converted from tfjs NHWC); 'plain' when the axes match tfjs. */
  layout: 'nchw' | 'plain';
  /** The tfjs (channels-last) shape, batch as null. */
  shape: (number | null)[];
}

export interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, any>;
  weights: { name: string; originalName?: string; shape: number[]; read(): tf.Tensor }[];
  inboundNodes: { inputTensors: SymbolicLike[]; outputTensors: SymbolicLike[] }[];
}

export interface SymbolicLike {
  id: number;
  shape: (number | null)[];
}

export class GraphBuilder {
  nodes: OnnxNode[] = [];
  initializers: OnnxTensor[] = [];
  private used = new Set<string>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, '_');
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  node(opType: string, inputs: string[], outName: string, attributes: OnnxAttribute[] = []): string {
    const out = this.unique(outName);
    this.nodes.push({ opType, name: this.unique(`${out}/${opType}`), inputs, outputs: [out], attributes });
    return out;
  }

  floatInit(name: string, dims: number[], data: Float32Array): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dims, dataType: DataType.FLOAT, data });
    return n;
  }

  int64Init(name: string, values: number[]): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dims: [values.length], dataType: DataType.INT64, data: BigInt64Array.from(values.map(BigInt)) });
    return n;
  }

  scalarFloat(name: string, value: number): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dims: [], dataType: DataType.FLOAT, data: Float32Array.of(value) });
    return n;
  }
}

/** The weight of `layer` whose name ends in `/suffix` (or is `suffix`), copied out; undefined when absent. */
export function weightData(layer: LayerLike, suffix: string): { data: Float32Array; shape: number[] } | undefined {
  const w = layer.weights.find((v) => (v.originalName ?? v.name).endsWith(`/${suffix}`) || (v.originalName ?? v.name) === suffix);
  if (!w) return undefined;
  return { data: Float32Array.from(w.read().dataSync() as Float32Array), shape: [...w.shape] };
}

export function requireWeight(layer: LayerLike, suffix: string) {
  const w = weightData(layer, suffix);
  if (!w) throw new AppError('unsupported', `ONNX export: layer ${layer.name} has no '${suffix}' weight`);
  return w;
}

/** Reorders a row-major array of the given shape by `perm` (numpy.transpose semantics). */
export function permute(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const strideForOut = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d]! * strideForOut[d]!;
    out[o] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]! += 1;
      if (idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** Maps a tfjs (channels-last) axis of a value to the ONNX axis. */
export function onnxAxis(v: Value, axis: number): number {
  const rank = v.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (v.layout !== 'nchw') return a;
  return [0, 2, 3, 1][a]!;
}

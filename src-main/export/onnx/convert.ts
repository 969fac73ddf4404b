/**
 * Converts a trained tfjs LayersModel (channels-last images, softmax output) into an ONNX model.
 *
 * The ONNX graph takes the same NHWC float input as the tfjs model (`onnxLayout: 'NHWC'`): the first node
 * transposes it to NCHW, which ONNX's Conv/Pool operators expect; 4-D tensors then stay NCHW, and a
 * Flatten first transposes back to NHWC so the element order (and the Dense weights after it) match tfjs.
 * Batch is a symbolic dimension. Every layer kind the app's architectures use is handled; anything else
 * is refused with an `unsupported` error naming the layer.
 */
import type * as tf from '@tensorflow/tfjs';
import { AppError } from '../../core/errors';
import { DataType, encodeModel, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto';

// Opset 18 (IR 8): Pad takes an `axes` input, which keeps onnxruntime's PadFusion from folding a zero Pad
// into a following MaxPool/AveragePool (that fold turns zero padding into pool padding, which the pool
// ignores: wrong results, or a load error when the sum exceeds the kernel).
export const ONNX_OPSET = 18;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'probabilities';

/** How a converted tensor is laid out in the ONNX graph. */
interface Value {
  name: string;
  /** 'nchw' for 4-D image tensors (converted from tfjs NHWC); 'plain' when the axes match tfjs. */
  layout: 'nchw' | 'plain';
  /** The tfjs (channels-last) shape, batch as null. */
  shape: (number | null)[];
}

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, any>;
  weights: { name: string; originalName?: string; shape: number[]; read(): tf.Tensor }[];
  inboundNodes: { inputTensors: SymbolicLike[]; outputTensors: SymbolicLike[] }[];
}
interface SymbolicLike {
  id: number;
  shape: (number | null)[];
}

export interface ConvertOptions {
  /** Written into the ONNX model's metadata_props (e.g. labels, run id). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
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

/** TensorFlow's SAME padding for one spatial axis: [before, after], extra pixel at the end. */
export function samePadding(inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + effective - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return [v[0], v[0]];
  throw new AppError('unsupported', `ONNX export: cannot read ${what} ${JSON.stringify(v)}`);
}

class GraphBuilder {
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

function weightData(layer: LayerLike, suffix: string): { data: Float32Array; shape: number[] } | undefined {
  const w = layer.weights.find((v) => (v.originalName ?? v.name).endsWith(`/${suffix}`) || (v.originalName ?? v.name) === suffix);
  if (!w) return undefined;
  return { data: Float32Array.from(w.read().dataSync() as Float32Array), shape: [...w.shape] };
}

function requireWeight(layer: LayerLike, suffix: string) {
  const w = weightData(layer, suffix);
  if (!w) throw new AppError('unsupported', `ONNX export: layer ${layer.name} has no '${suffix}' weight`);
  return w;
}

/** Emits the nodes of a tfjs activation by name; returns the output tensor name. */
function activation(g: GraphBuilder, name: string | undefined, input: string, base: string, rank: number, layerName: string): string {
  const act = (name ?? 'linear').toLowerCase();
  switch (act) {
    case 'linear':
      return input;
    case 'relu':
      return g.node('Relu', [input], `${base}/relu`);
    case 'relu6':
      return g.node('Clip', [input, g.scalarFloat(`${base}/clip_min`, 0), g.scalarFloat(`${base}/clip_max`, 6)], `${base}/relu6`);
    case 'sigmoid':
      return g.node('Sigmoid', [input], `${base}/sigmoid`);
    case 'tanh':
      return g.node('Tanh', [input], `${base}/tanh`);
    case 'elu':
      return g.node('Elu', [input], `${base}/elu`, [{ name: 'alpha', kind: 'float', value: 1 }]);
    case 'selu':
      return g.node('Selu', [input], `${base}/selu`);
    case 'softplus':
      return g.node('Softplus', [input], `${base}/softplus`);
    case 'softsign':
      return g.node('Softsign', [input], `${base}/softsign`);
    case 'hardsigmoid':
      return g.node('HardSigmoid', [input], `${base}/hard_sigmoid`, [
        { name: 'alpha', kind: 'float', value: 0.2 },
        { name: 'beta', kind: 'float', value: 0.5 },
      ]);
    case 'swish': {
      const s = g.node('Sigmoid', [input], `${base}/swish_sigmoid`);
      return g.node('Mul', [input, s], `${base}/swish`);
    }
    case 'softmax':
      // tfjs applies softmax on the last (channels) axis; in NCHW that is axis 1.
      return g.node('Softmax', [input], `${base}/softmax`, [{ name: 'axis', kind: 'int', value: rank === 4 ? 1 : -1 }]);
    default:
      throw new AppError('unsupported', `ONNX export: activation '${name}' of layer ${layerName} is not supported`);
  }
}

/** Maps a tfjs (channels-last) axis of a value to the ONNX axis. */
function onnxAxis(v: Value, axis: number): number {
  const rank = v.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (v.layout !== 'nchw') return a;
  return [0, 2, 3, 1][a]!;
}

function convertLayer(g: GraphBuilder, layer: LayerLike, inputs: Value[], outShape: (number | null)[]): Value {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  const base = layer.name;
  const one = (): Value => {
    if (inputs.length !== 1) throw new AppError('unsupported', `ONNX export: layer ${base} (${cls}) has ${inputs.length} inputs`);
    return inputs[0]!;
  };
  const same = (v: Value, name: string): Value => ({ name, layout: v.layout, shape: outShape });
  const requireChannelsLast = () => {
    if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') {
      throw new AppError('unsupported', `ONNX export: layer ${base} uses dataFormat ${cfg.dataFormat} (only channelsLast is supported)`);
    }
  };
  const spatialPads = (x: Value, kernel: [number, number], strides: [number, number], dil: [number, number]): number[] => {
    if (cfg.padding === 'valid') return [0, 0, 0, 0];
    if (cfg.padding !== 'same') throw new AppError('unsupported', `ONNX export: layer ${base} padding '${cfg.padding}'`);
    const [h, w] = [x.shape[1], x.shape[2]];
    if (typeof h !== 'number' || typeof w !== 'number') {
      throw new AppError('unsupported', `ONNX export: layer ${base} needs a fixed input size for 'same' padding`);
    }
    const [t, b] = samePadding(h, kernel[0], strides[0], dil[0]);
    const [l, r] = samePadding(w, kernel[1], strides[1], dil[1]);
    return [t, l, b, r];
  };

  switch (cls) {
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return same(one(), one().name); // inference: identity
    case 'Conv2D':
    case 'DepthwiseConv2D':
    case 'SeparableConv2D': {
      requireChannelsLast();
      const x = one();
      if (x.layout !== 'nchw') throw new AppError('unsupported', `ONNX export: ${cls} ${base} on a non-image tensor`);
      const kernel = pair(cfg.kernelSize, `${base}.kernelSize`);
      const strides = pair(cfg.strides ?? 1, `${base}.strides`);
      const dil = pair(cfg.dilationRate ?? 1, `${base}.dilationRate`);
      const pads = spatialPads(x, kernel, strides, dil);
      const inC = x.shape[3] as number;
      const convAttrs = (group: number): OnnxAttribute[] => [
        { name: 'kernel_shape', kind: 'ints', value: kernel },
        { name: 'strides', kind: 'ints', value: strides },
        { name: 'dilations', kind: 'ints', value: dil },
        { name: 'pads', kind: 'ints', value: pads },
        { name: 'group', kind: 'int', value: group },
      ];
      let y: string;
      const bias = cfg.useBias === false ? undefined : weightData(layer, 'bias');
      if (cls === 'Conv2D') {
        const k = requireWeight(layer, 'kernel'); // [kh, kw, in, out]
        const w = permute(k.data, k.shape, [3, 2, 0, 1]);
        const inputsList = [x.name, g.floatInit(`${base}/W`, w.shape, w.data)];
        if (bias) inputsList.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
        y = g.node('Conv', inputsList, `${base}/conv`, convAttrs(1));
      } else {
        const k = requireWeight(layer, 'depthwise_kernel'); // [kh, kw, in, mult]
        const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
        // TF's depthwise output channel c*mult + m == ONNX group conv with group = in channels.
        const flat = permute(k.data, [kh, kw, cin * mult], [2, 0, 1]);
        const wName = g.floatInit(`${base}/W_depthwise`, [cin * mult, 1, kh, kw], flat.data);
        const dwInputs = [x.name, wName];
        if (cls === 'DepthwiseConv2D' && bias) dwInputs.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
        y = g.node('Conv', dwInputs, `${base}/depthwise`, convAttrs(inC));
        if (cls === 'SeparableConv2D') {
          const p = requireWeight(layer, 'pointwise_kernel'); // [1, 1, in*mult, out]
          const pw = permute(p.data, p.shape, [3, 2, 0, 1]);
          const pwInputs = [y, g.floatInit(`${base}/W_pointwise`, pw.shape, pw.data)];
          if (bias) pwInputs.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
          y = g.node('Conv', pwInputs, `${base}/pointwise`, [
            { name: 'kernel_shape', kind: 'ints', value: [1, 1] },
            { name: 'strides', kind: 'ints', value: [1, 1] },
            { name: 'pads', kind: 'ints', value: [0, 0, 0, 0] },
          ]);
        }
      }
      return { name: activation(g, cfg.activation, y, base, 4, base), layout: 'nchw', shape: outShape };
    }
    case 'Dense': {
      const x = one();
      if (x.shape.length !== 2) {
        throw new AppError('unsupported', `ONNX export: Dense ${base} on a rank-${x.shape.length} input (flatten or pool first)`);
      }
      const k = requireWeight(layer, 'kernel'); // [in, out] == Gemm B without transpose
      const bias = cfg.useBias === false ? undefined : weightData(layer, 'bias');
      const ins = [x.name, g.floatInit(`${base}/W`, k.shape, k.data)];
      if (bias) ins.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
      const y = g.node('Gemm', ins, `${base}/gemm`);
      return { name: activation(g, cfg.activation, y, base, 2, base), layout: 'plain', shape: outShape };
    }
    case 'BatchNormalization': {
      const x = one();
      const rank = x.shape.length;
      const axis = Array.isArray(cfg.axis) ? cfg.axis[0] : cfg.axis;
      if (!(axis === -1 || axis === rank - 1)) {
        throw new AppError('unsupported', `ONNX export: BatchNormalization ${base} on axis ${axis} (only the channel axis)`);
      }
      if (rank !== 2 && rank !== 4) throw new AppError('unsupported', `ONNX export: BatchNormalization ${base} on rank ${rank}`);
      const mean = requireWeight(layer, 'moving_mean');
      const variance = requireWeight(layer, 'moving_variance');
      const c = mean.data.length;
      const gamma = cfg.scale === false ? undefined : weightData(layer, 'gamma');
      const beta = cfg.center === false ? undefined : weightData(layer, 'beta');
      const y = g.node(
        'BatchNormalization',
        [
          x.name,
          g.floatInit(`${base}/gamma`, [c], gamma?.data ?? new Float32Array(c).fill(1)),
          g.floatInit(`${base}/beta`, [c], beta?.data ?? new Float32Array(c)),
          g.floatInit(`${base}/moving_mean`, [c], mean.data),
          g.floatInit(`${base}/moving_variance`, [c], variance.data),
        ],
        `${base}/bn`,
        [{ name: 'epsilon', kind: 'float', value: cfg.epsilon ?? 1e-3 }],
      );
      return same(x, y);
    }
    case 'ReLU': {
      const x = one();
      if (cfg.maxValue !== null && cfg.maxValue !== undefined) {
        const y = g.node('Clip', [x.name, g.scalarFloat(`${base}/min`, 0), g.scalarFloat(`${base}/max`, cfg.maxValue)], `${base}/relu_clip`);
        return same(x, y);
      }
      return same(x, g.node('Relu', [x.name], `${base}/relu`));
    }
    case 'LeakyReLU': {
      const x = one();
      return same(x, g.node('LeakyRelu', [x.name], `${base}/leaky_relu`, [{ name: 'alpha', kind: 'float', value: cfg.alpha ?? 0.3 }]));
    }
    case 'ELU': {
      const x = one();
      return same(x, g.node('Elu', [x.name], `${base}/elu`, [{ name: 'alpha', kind: 'float', value: cfg.alpha ?? 1 }]));
    }
    case 'Activation': {
      const x = one();
      return same(x, activation(g, cfg.activation, x.name, base, x.shape.length, base));
    }
    case 'Softmax': {
      const x = one();
      const axis = Array.isArray(cfg.axis) ? cfg.axis[0] : (cfg.axis ?? -1);
      const y = g.node('Softmax', [x.name], `${base}/softmax`, [{ name: 'axis', kind: 'int', value: onnxAxis(x, axis) }]);
      return same(x, y);
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      requireChannelsLast();
      const x = one();
      const kernel = pair(cfg.poolSize, `${base}.poolSize`);
      const strides = pair(cfg.strides ?? cfg.poolSize, `${base}.strides`);
      const pads = spatialPads(x, kernel, strides, [1, 1]);
      const attrs: OnnxAttribute[] = [
        { name: 'kernel_shape', kind: 'ints', value: kernel },
        { name: 'strides', kind: 'ints', value: strides },
        { name: 'pads', kind: 'ints', value: pads },
      ];
      // TF's average pooling leaves padded cells out of the mean: count_include_pad = 0 (ONNX default).
      if (cls === 'AveragePooling2D') attrs.push({ name: 'count_include_pad', kind: 'int', value: 0 });
      const y = g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], `${base}/pool`, attrs);
      return same(x, y);
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      requireChannelsLast();
      const x = one();
      const pooled = g.node(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], `${base}/pool`);
      if (outShape.length === 4) return { name: pooled, layout: 'nchw', shape: outShape }; // keepDims
      const y = g.node('Flatten', [pooled], `${base}/flatten`, [{ name: 'axis', kind: 'int', value: 1 }]);
      return { name: y, layout: 'plain', shape: outShape };
    }
    case 'Flatten': {
      const x = one();
      let src = x.name;
      // tfjs flattens NHWC; bring the NCHW tensor back to NHWC first so the order (and the next Dense) match.
      if (x.layout === 'nchw') src = g.node('Transpose', [x.name], `${base}/to_nhwc`, [{ name: 'perm', kind: 'ints', value: [0, 2, 3, 1] }]);
      const y = g.node('Flatten', [src], `${base}/flatten`, [{ name: 'axis', kind: 'int', value: 1 }]);
      return { name: y, layout: 'plain', shape: outShape };
    }
    case 'ZeroPadding2D': {
      requireChannelsLast();
      const x = one();
      const p = cfg.padding as unknown;
      let top: number, bottom: number, left: number, right: number;
      if (typeof p === 'number') [top, bottom, left, right] = [p, p, p, p];
      else if (Array.isArray(p) && Array.isArray(p[0])) [[top, bottom], [left, right]] = p as [[number, number], [number, number]];
      else if (Array.isArray(p)) [top, bottom, left, right] = [p[0], p[0], p[1], p[1]];
      else throw new AppError('unsupported', `ONNX export: ZeroPadding2D ${base} padding ${JSON.stringify(p)}`);
      // All four axes listed: the `axes` input blocks onnxruntime's Pad+pool fusion, and a full-rank `pads`
      // stays right when its transpose optimiser permutes it.
      const pads = g.int64Init(`${base}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
      const value = g.scalarFloat(`${base}/value`, 0);
      const axes = g.int64Init(`${base}/axes`, [0, 1, 2, 3]);
      return same(x, g.node('Pad', [x.name, pads, value, axes], `${base}/pad`, [{ name: 'mode', kind: 'string', value: 'constant' }]));
    }
    case 'Add':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum': {
      if (inputs.length < 2) throw new AppError('unsupported', `ONNX export: ${cls} ${base} needs two inputs`);
      const layouts = new Set(inputs.map((i) => i.layout));
      if (layouts.size !== 1) throw new AppError('unsupported', `ONNX export: ${cls} ${base} mixes tensor layouts`);
      const op = { Add: 'Add', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min' }[cls]!;
      if (op === 'Max' || op === 'Min') return same(inputs[0]!, g.node(op, inputs.map((i) => i.name), `${base}/${op.toLowerCase()}`));
      let acc = inputs[0]!.name;
      for (let i = 1; i < inputs.length; i++) acc = g.node(op, [acc, inputs[i]!.name], `${base}/${op.toLowerCase()}`);
      return same(inputs[0]!, acc);
    }
    case 'Average': {
      let acc = inputs[0]!.name;
      for (let i = 1; i < inputs.length; i++) acc = g.node('Add', [acc, inputs[i]!.name], `${base}/sum`);
      const y = g.node('Mul', [acc, g.scalarFloat(`${base}/inv_n`, 1 / inputs.length)], `${base}/average`);
      return same(inputs[0]!, y);
    }
    case 'Concatenate': {
      const layouts = new Set(inputs.map((i) => i.layout));
      if (layouts.size !== 1) throw new AppError('unsupported', `ONNX export: Concatenate ${base} mixes tensor layouts`);
      const axis = onnxAxis(inputs[0]!, cfg.axis ?? -1);
      return same(inputs[0]!, g.node('Concat', inputs.map((i) => i.name), `${base}/concat`, [{ name: 'axis', kind: 'int', value: axis }]));
    }
    case 'Rescaling': {
      const x = one();
      const scaled = g.node('Mul', [x.name, g.scalarFloat(`${base}/scale`, cfg.scale)], `${base}/scale`);
      const y = cfg.offset ? g.node('Add', [scaled, g.scalarFloat(`${base}/offset`, cfg.offset)], `${base}/offset`) : scaled;
      return same(x, y);
    }
    default:
      throw new AppError('unsupported', `ONNX export: layer ${base} of kind ${cls} is not supported`);
  }
}

/** Builds the ONNX model (in memory) of a tfjs LayersModel with one NHWC image input and one output. */
export function convertToOnnx(model: tf.LayersModel, opts: ConvertOptions = {}): OnnxModel {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new AppError('unsupported', `ONNX export: the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs (one each is supported)`);
  }
  const g = new GraphBuilder();
  const input = model.inputs[0]! as unknown as SymbolicLike;
  if (input.shape.length !== 4 || input.shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new AppError('unsupported', `ONNX export: the model input must be [batch, h, w, c] with fixed h, w, c, got [${input.shape.join(', ')}]`);
  }
  const [, h, w, c] = input.shape as [null, number, number, number];
  const inputName = g.unique(ONNX_INPUT_NAME);
  const values = new Map<number, Value>();
  values.set(input.id, {
    name: g.node('Transpose', [inputName], 'input_nchw', [{ name: 'perm', kind: 'ints', value: [0, 3, 1, 2] }]),
    layout: 'nchw',
    shape: input.shape,
  });

  const layers = model.layers as unknown as LayerLike[];
  for (const layer of layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    // A layer may have been called more than once; convert each call whose inputs are in this graph.
    for (const node of layer.inboundNodes) {
      if (!node.inputTensors.every((t) => values.has(t.id))) continue;
      if (node.outputTensors.every((t) => values.has(t.id))) continue;
      if (node.outputTensors.length !== 1) {
        throw new AppError('unsupported', `ONNX export: layer ${layer.name} has ${node.outputTensors.length} outputs`);
      }
      const out = node.outputTensors[0]!;
      values.set(out.id, convertLayer(g, layer, node.inputTensors.map((t) => values.get(t.id)!), out.shape));
    }
  }
  const outputSym = model.outputs[0]! as unknown as SymbolicLike;
  const result = values.get(outputSym.id);
  if (!result) throw new AppError('internal', 'ONNX export: the model output was not reached from its input');
  let outName = result.name;
  if (result.layout === 'nchw') outName = g.node('Transpose', [outName], 'output_nhwc', [{ name: 'perm', kind: 'ints', value: [0, 2, 3, 1] }]);
  // Name the graph output with a final Identity so its name is stable whatever the last layer is.
  const finalName = g.unique(ONNX_OUTPUT_NAME);
  g.nodes.push({ opType: 'Identity', name: g.unique('output/Identity'), inputs: [outName], outputs: [finalName] });

  return {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'mixup-studio',
    producerVersion: opts.producerVersion ?? '0',
    docString: opts.docString,
    metadata: opts.metadata,
    graph: {
      name: model.name || 'model',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: inputName, elemType: DataType.FLOAT, shape: ['batch', h, w, c] }],
      outputs: [{ name: finalName, elemType: DataType.FLOAT, shape: ['batch', ...outputSym.shape.slice(1).map((d) => d ?? '?')] }],
    },
  };
}

/** Serialised ONNX bytes of a tfjs LayersModel. */
export function exportOnnx(model: tf.LayersModel, opts: ConvertOptions = {}): Uint8Array {
  return encodeModel(convertToOnnx(model, opts));
}

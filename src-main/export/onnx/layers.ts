/**
 * The layer converters of the ONNX export: one entry per tfjs layer class name in LAYER_CONVERTERS, each a
 * function that reads the layer's config and weights and emits its ONNX nodes through the graph builder,
 * returning the value the layer's output becomes. 4-D image values are NCHW in the graph (see ./convert.ts);
 * a Flatten brings them back to NHWC so the element order matches tfjs.
 */
import { AppError } from '../../core/errors';
import { onnxAxis, permute, requireWeight, weightData, type GraphBuilder, type LayerLike, type Value } from './graph';
import type { OnnxAttribute } from './proto';

/** One call of a layer, as its converter sees it. */
export interface LayerCall {
  layer: LayerLike;
  /** The layer's class name (`getClassName()`). */
  cls: string;
  cfg: Record<string, any>;
  /** The layer's name: the base of every ONNX name it emits. */
  base: string;
  inputs: Value[];
  /** The tfjs shape of the call's output, batch as null. */
  outShape: (number | null)[];
}

/** Emits the ONNX nodes of one layer call; returns the value of its output. */
export type LayerConverter = (g: GraphBuilder, call: LayerCall) => Value;

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

/** The call's one input (a layer with several is refused). */
function one(c: LayerCall): Value {
  if (c.inputs.length !== 1) throw new AppError('unsupported', `ONNX export: layer ${c.base} (${c.cls}) has ${c.inputs.length} inputs`);
  return c.inputs[0]!;
}

/** The output value: `name`, with the layout of `v` and the call's output shape. */
function same(c: LayerCall, v: Value, name: string): Value {
  return { name, layout: v.layout, shape: c.outShape };
}

function requireChannelsLast(c: LayerCall): void {
  if (c.cfg.dataFormat && c.cfg.dataFormat !== 'channelsLast') {
    throw new AppError('unsupported', `ONNX export: layer ${c.base} uses dataFormat ${c.cfg.dataFormat} (only channelsLast is supported)`);
  }
}

/** ONNX `pads` [top, left, bottom, right] of a conv or pool with 'valid' or 'same' padding. */
function spatialPads(c: LayerCall, x: Value, kernel: [number, number], strides: [number, number], dil: [number, number]): number[] {
  if (c.cfg.padding === 'valid') return [0, 0, 0, 0];
  if (c.cfg.padding !== 'same') throw new AppError('unsupported', `ONNX export: layer ${c.base} padding '${c.cfg.padding}'`);
  const [h, w] = [x.shape[1], x.shape[2]];
  if (typeof h !== 'number' || typeof w !== 'number') {
    throw new AppError('unsupported', `ONNX export: layer ${c.base} needs a fixed input size for 'same' padding`);
  }
  const [t, b] = samePadding(h, kernel[0], strides[0], dil[0]);
  const [l, r] = samePadding(w, kernel[1], strides[1], dil[1]);
  return [t, l, b, r];
}

/** Inference: identity. */
const identity: LayerConverter = (_g, c) => same(c, one(c), one(c).name);

/** What every 2-D convolution reads first: its input, geometry, ONNX Conv attributes and bias. */
function convSetup(c: LayerCall) {
  const { cfg, base, cls } = c;
  requireChannelsLast(c);
  const x = one(c);
  if (x.layout !== 'nchw') throw new AppError('unsupported', `ONNX export: ${cls} ${base} on a non-image tensor`);
  const kernel = pair(cfg.kernelSize, `${base}.kernelSize`);
  const strides = pair(cfg.strides ?? 1, `${base}.strides`);
  const dil = pair(cfg.dilationRate ?? 1, `${base}.dilationRate`);
  const pads = spatialPads(c, x, kernel, strides, dil);
  const inC = x.shape[3] as number;
  const convAttrs = (group: number): OnnxAttribute[] => [
    { name: 'kernel_shape', kind: 'ints', value: kernel },
    { name: 'strides', kind: 'ints', value: strides },
    { name: 'dilations', kind: 'ints', value: dil },
    { name: 'pads', kind: 'ints', value: pads },
    { name: 'group', kind: 'int', value: group },
  ];
  const bias = cfg.useBias === false ? undefined : weightData(c.layer, 'bias');
  return { x, inC, convAttrs, bias };
}

const conv2d: LayerConverter = (g, c) => {
  const { layer, cfg, base } = c;
  const { x, convAttrs, bias } = convSetup(c);
  const k = requireWeight(layer, 'kernel'); // [kh, kw, in, out]
  const w = permute(k.data, k.shape, [3, 2, 0, 1]);
  const inputsList = [x.name, g.floatInit(`${base}/W`, w.shape, w.data)];
  if (bias) inputsList.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
  const y = g.node('Conv', inputsList, `${base}/conv`, convAttrs(1));
  return { name: activation(g, cfg.activation, y, base, 4, base), layout: 'nchw', shape: c.outShape };
};

/** DepthwiseConv2D, and SeparableConv2D (the same depthwise conv, then a pointwise one that takes the bias). */
const depthwiseConv2d: LayerConverter = (g, c) => {
  const { layer, cfg, base, cls } = c;
  const { x, inC, convAttrs, bias } = convSetup(c);
  const k = requireWeight(layer, 'depthwise_kernel'); // [kh, kw, in, mult]
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  // TF's depthwise output channel c*mult + m == ONNX group conv with group = in channels.
  const flat = permute(k.data, [kh, kw, cin * mult], [2, 0, 1]);
  const wName = g.floatInit(`${base}/W_depthwise`, [cin * mult, 1, kh, kw], flat.data);
  const dwInputs = [x.name, wName];
  if (cls === 'DepthwiseConv2D' && bias) dwInputs.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
  let y = g.node('Conv', dwInputs, `${base}/depthwise`, convAttrs(inC));
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
  return { name: activation(g, cfg.activation, y, base, 4, base), layout: 'nchw', shape: c.outShape };
};

const dense: LayerConverter = (g, c) => {
  const { layer, cfg, base } = c;
  const x = one(c);
  if (x.shape.length !== 2) {
    throw new AppError('unsupported', `ONNX export: Dense ${base} on a rank-${x.shape.length} input (flatten or pool first)`);
  }
  const k = requireWeight(layer, 'kernel'); // [in, out] == Gemm B without transpose
  const bias = cfg.useBias === false ? undefined : weightData(layer, 'bias');
  const ins = [x.name, g.floatInit(`${base}/W`, k.shape, k.data)];
  if (bias) ins.push(g.floatInit(`${base}/B`, bias.shape, bias.data));
  const y = g.node('Gemm', ins, `${base}/gemm`);
  return { name: activation(g, cfg.activation, y, base, 2, base), layout: 'plain', shape: c.outShape };
};

const batchNormalization: LayerConverter = (g, c) => {
  const { layer, cfg, base } = c;
  const x = one(c);
  const rank = x.shape.length;
  const axis = Array.isArray(cfg.axis) ? cfg.axis[0] : cfg.axis;
  if (!(axis === -1 || axis === rank - 1)) {
    throw new AppError('unsupported', `ONNX export: BatchNormalization ${base} on axis ${axis} (only the channel axis)`);
  }
  if (rank !== 2 && rank !== 4) throw new AppError('unsupported', `ONNX export: BatchNormalization ${base} on rank ${rank}`);
  const mean = requireWeight(layer, 'moving_mean');
  const variance = requireWeight(layer, 'moving_variance');
  const n = mean.data.length;
  const gamma = cfg.scale === false ? undefined : weightData(layer, 'gamma');
  const beta = cfg.center === false ? undefined : weightData(layer, 'beta');
  const y = g.node(
    'BatchNormalization',
    [
      x.name,
      g.floatInit(`${base}/gamma`, [n], gamma?.data ?? new Float32Array(n).fill(1)),
      g.floatInit(`${base}/beta`, [n], beta?.data ?? new Float32Array(n)),
      g.floatInit(`${base}/moving_mean`, [n], mean.data),
      g.floatInit(`${base}/moving_variance`, [n], variance.data),
    ],
    `${base}/bn`,
    [{ name: 'epsilon', kind: 'float', value: cfg.epsilon ?? 1e-3 }],
  );
  return same(c, x, y);
};

const relu: LayerConverter = (g, c) => {
  const { cfg, base } = c;
  const x = one(c);
  if (cfg.maxValue !== null && cfg.maxValue !== undefined) {
    const y = g.node('Clip', [x.name, g.scalarFloat(`${base}/min`, 0), g.scalarFloat(`${base}/max`, cfg.maxValue)], `${base}/relu_clip`);
    return same(c, x, y);
  }
  return same(c, x, g.node('Relu', [x.name], `${base}/relu`));
};

const leakyRelu: LayerConverter = (g, c) => {
  const x = one(c);
  return same(c, x, g.node('LeakyRelu', [x.name], `${c.base}/leaky_relu`, [{ name: 'alpha', kind: 'float', value: c.cfg.alpha ?? 0.3 }]));
};

const elu: LayerConverter = (g, c) => {
  const x = one(c);
  return same(c, x, g.node('Elu', [x.name], `${c.base}/elu`, [{ name: 'alpha', kind: 'float', value: c.cfg.alpha ?? 1 }]));
};

const activationLayer: LayerConverter = (g, c) => {
  const x = one(c);
  return same(c, x, activation(g, c.cfg.activation, x.name, c.base, x.shape.length, c.base));
};

const softmax: LayerConverter = (g, c) => {
  const { cfg, base } = c;
  const x = one(c);
  const axis = Array.isArray(cfg.axis) ? cfg.axis[0] : (cfg.axis ?? -1);
  const y = g.node('Softmax', [x.name], `${base}/softmax`, [{ name: 'axis', kind: 'int', value: onnxAxis(x, axis) }]);
  return same(c, x, y);
};

/** MaxPooling2D and AveragePooling2D. */
const pooling2d: LayerConverter = (g, c) => {
  const { cfg, base, cls } = c;
  requireChannelsLast(c);
  const x = one(c);
  const kernel = pair(cfg.poolSize, `${base}.poolSize`);
  const strides = pair(cfg.strides ?? cfg.poolSize, `${base}.strides`);
  const pads = spatialPads(c, x, kernel, strides, [1, 1]);
  const attrs: OnnxAttribute[] = [
    { name: 'kernel_shape', kind: 'ints', value: kernel },
    { name: 'strides', kind: 'ints', value: strides },
    { name: 'pads', kind: 'ints', value: pads },
  ];
  // TF's average pooling leaves padded cells out of the mean: count_include_pad = 0 (ONNX default).
  if (cls === 'AveragePooling2D') attrs.push({ name: 'count_include_pad', kind: 'int', value: 0 });
  const y = g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], `${base}/pool`, attrs);
  return same(c, x, y);
};

/** GlobalAveragePooling2D and GlobalMaxPooling2D. */
const globalPooling2d: LayerConverter = (g, c) => {
  const { base, cls, outShape } = c;
  requireChannelsLast(c);
  const x = one(c);
  const pooled = g.node(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], `${base}/pool`);
  if (outShape.length === 4) return { name: pooled, layout: 'nchw', shape: outShape }; // keepDims
  const y = g.node('Flatten', [pooled], `${base}/flatten`, [{ name: 'axis', kind: 'int', value: 1 }]);
  return { name: y, layout: 'plain', shape: outShape };
};

const flatten: LayerConverter = (g, c) => {
  const { base } = c;
  const x = one(c);
  let src = x.name;
  // tfjs flattens NHWC; bring the NCHW tensor back to NHWC first so the order (and the next Dense) match.
  if (x.layout === 'nchw') src = g.node('Transpose', [x.name], `${base}/to_nhwc`, [{ name: 'perm', kind: 'ints', value: [0, 2, 3, 1] }]);
  const y = g.node('Flatten', [src], `${base}/flatten`, [{ name: 'axis', kind: 'int', value: 1 }]);
  return { name: y, layout: 'plain', shape: c.outShape };
};

const zeroPadding2d: LayerConverter = (g, c) => {
  const { base } = c;
  requireChannelsLast(c);
  const x = one(c);
  const p = c.cfg.padding as unknown;
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
  return same(c, x, g.node('Pad', [x.name, pads, value, axes], `${base}/pad`, [{ name: 'mode', kind: 'string', value: 'constant' }]));
};

/** Add, Multiply, Maximum and Minimum of two or more inputs of one layout. */
const elementwise: LayerConverter = (g, c) => {
  const { inputs, base, cls } = c;
  if (inputs.length < 2) throw new AppError('unsupported', `ONNX export: ${cls} ${base} needs two inputs`);
  const layouts = new Set(inputs.map((i) => i.layout));
  if (layouts.size !== 1) throw new AppError('unsupported', `ONNX export: ${cls} ${base} mixes tensor layouts`);
  const op = ({ Add: 'Add', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min' } as Record<string, string>)[cls]!;
  if (op === 'Max' || op === 'Min') return same(c, inputs[0]!, g.node(op, inputs.map((i) => i.name), `${base}/${op.toLowerCase()}`));
  let acc = inputs[0]!.name;
  for (let i = 1; i < inputs.length; i++) acc = g.node(op, [acc, inputs[i]!.name], `${base}/${op.toLowerCase()}`);
  return same(c, inputs[0]!, acc);
};

const average: LayerConverter = (g, c) => {
  const { inputs, base } = c;
  let acc = inputs[0]!.name;
  for (let i = 1; i < inputs.length; i++) acc = g.node('Add', [acc, inputs[i]!.name], `${base}/sum`);
  const y = g.node('Mul', [acc, g.scalarFloat(`${base}/inv_n`, 1 / inputs.length)], `${base}/average`);
  return same(c, inputs[0]!, y);
};

const concatenate: LayerConverter = (g, c) => {
  const { inputs, base } = c;
  const layouts = new Set(inputs.map((i) => i.layout));
  if (layouts.size !== 1) throw new AppError('unsupported', `ONNX export: Concatenate ${base} mixes tensor layouts`);
  const axis = onnxAxis(inputs[0]!, c.cfg.axis ?? -1);
  return same(c, inputs[0]!, g.node('Concat', inputs.map((i) => i.name), `${base}/concat`, [{ name: 'axis', kind: 'int', value: axis }]));
};

const rescaling: LayerConverter = (g, c) => {
  const { cfg, base } = c;
  const x = one(c);
  const scaled = g.node('Mul', [x.name, g.scalarFloat(`${base}/scale`, cfg.scale)], `${base}/scale`);
  const y = cfg.offset ? g.node('Add', [scaled, g.scalarFloat(`${base}/offset`, cfg.offset)], `${base}/offset`) : scaled;
  return same(c, x, y);
};

/** Every layer kind the export converts, by tfjs class name; anything else is refused (./convert.ts). */
export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: depthwiseConv2d,
  Dense: dense,
  BatchNormalization: batchNormalization,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  Activation: activationLayer,
  Softmax: softmax,
  MaxPooling2D: pooling2d,
  AveragePooling2D: pooling2d,
  GlobalAveragePooling2D: globalPooling2d,
  GlobalMaxPooling2D: globalPooling2d,
  Flatten: flatten,
  ZeroPadding2D: zeroPadding2d,
  Add: elementwise,
  Multiply: elementwise,
  Maximum: elementwise,
  Minimum: elementwise,
  Average: average,
  Concatenate: concatenate,
  Rescaling: rescaling,
};

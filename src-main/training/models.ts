/**
 * The model zoo: `cnn-small`, a ResNet-20 for small images and a MobileNetV2-style net for larger ones.
 *
 * Every model is built as a list of named blocks. The exported model (`buildModel`) is one flat functional
 * tfjs model (input → block 0 → … → logits → softmax) whose layers are named `b<k>_<name>`, so export and
 * ONNX conversion see ordinary layers. The same layer objects also run eagerly block by block
 * (`buildNetwork().blocks`, sharing the weights): the training loop runs them in turn, so Manifold MixUp can
 * blend the hidden features leaving a block before the next one.
 *
 * Initialisers are seeded (PyTorch's defaults: uniform ±1/√fan_in for conv/dense kernels and biases), so the
 * same seed builds bit-identical weights.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors';

import { ARCHS, validateModelSpec, type Arch, type ModelSpec } from '../config/model-spec';

export { ARCHS, validateModelSpec, blockNamesFor, type Arch, type ModelSpec } from '../config/model-spec';

/**
 * Blocks are written once over `Sym` and run both symbolically (to build the flat model) and eagerly on
 * concrete tensors (the training loop), with `kw.training` reaching BatchNorm.
 */
type Sym = tf.SymbolicTensor;
type Initializer = ReturnType<typeof tf.initializers.zeros>;
type Kw = { training?: boolean };

/** A block: layers created once, applicable to any symbolic input (so the flat model and segments share weights). */
interface BlockDef {
  name: string;
  apply(x: Sym, kw?: Kw): Sym;
}

export interface Network {
  /** input → softmax probabilities (what export and prediction use). */
  model: tf.LayersModel;
  /**
   * Block k run eagerly on concrete tensors: features entering block k → features leaving it (the last block
   * outputs logits). Shares its layers (weights) with `model`; `training` switches BatchNorm to batch stats.
   */
  blocks: Array<(x: tf.Tensor, training: boolean) => tf.Tensor>;
  /** Block names, index = block index. Manifold MixUp's `layers` name the block whose output is mixed. */
  blockNames: string[];
  /** Shape (without batch) of the features entering block k (k = 0: the input image). */
  blockInputShapes: number[][];
}

/** Seeded PyTorch-default initialisers; each layer takes the next seed so layers differ but runs repeat. */
class Init {
  private n = 0;
  constructor(private readonly seed: number) {}
  private next(): number {
    this.n += 1;
    // Keep it an integer in a safe range; tfjs seeds its alea generator with the value.
    return (Math.imul(this.seed >>> 0, 2654435761) + this.n * 7919) >>> 0;
  }
  kernel(): Initializer {
    // limit = sqrt(3 * scale / fanIn) = 1/sqrt(fanIn) with scale 1/3: kaiming_uniform(a=√5), PyTorch's default.
    return tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: this.next() });
  }
  bias(fanIn: number): Initializer {
    const b = 1 / Math.sqrt(fanIn);
    return tf.initializers.randomUniform({ minval: -b, maxval: b, seed: this.next() });
  }
}

function lastDim(x: Sym): number {
  return x.shape[x.shape.length - 1] as number;
}

function conv(
  init: Init,
  name: string,
  x: Sym,
  filters: number,
  k: number,
  opts: { strides?: number; padding?: 'valid' | 'same'; bias?: boolean } = {},
): tf.layers.Layer {
  const useBias = opts.bias ?? true;
  return tf.layers.conv2d({
    name,
    filters,
    kernelSize: k,
    strides: opts.strides ?? 1,
    padding: opts.padding ?? 'same',
    useBias,
    kernelInitializer: init.kernel(),
    biasInitializer: useBias ? init.bias(k * k * lastDim(x)) : 'zeros',
  });
}

function dense(init: Init, name: string, fanIn: number, units: number, activation?: 'relu'): tf.layers.Layer {
  return tf.layers.dense({
    name,
    units,
    activation,
    kernelInitializer: init.kernel(),
    biasInitializer: init.bias(fanIn),
  });
}

function bn(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 });
}

/**
 * A block whose layers are created lazily on the first application (shapes known then) and re-used after.
 */
function block(name: string, build: (x: Sym, make: <L extends tf.layers.Layer>(key: string, f: () => L) => L, kw: Kw) => Sym): BlockDef {
  const layers = new Map<string, tf.layers.Layer>();
  const make = <L extends tf.layers.Layer>(key: string, f: () => L): L => {
    let l = layers.get(key);
    if (!l) {
      l = f();
      layers.set(key, l);
    }
    return l as L;
  };
  return { name, apply: (x, kw = {}) => build(x, make, kw) };
}

function cnnSmall(init: Init, numClasses: number): BlockDef[] {
  return [
    block('conv1', (x, m, kw) => {
      let h = m('conv', () => conv(init, 'b0_conv', x, 32, 3, { padding: 'valid' })).apply(x, kw) as Sym;
      h = m('relu', () => tf.layers.reLU({ name: 'b0_relu' })).apply(h, kw) as Sym;
      return m('pool', () => tf.layers.maxPooling2d({ name: 'b0_pool', poolSize: 2, strides: 2 })).apply(h, kw) as Sym;
    }),
    block('conv2', (x, m, kw) => {
      let h = m('conv', () => conv(init, 'b1_conv', x, 64, 3, { padding: 'same' })).apply(x, kw) as Sym;
      h = m('relu', () => tf.layers.reLU({ name: 'b1_relu' })).apply(h, kw) as Sym;
      return m('pool', () => tf.layers.maxPooling2d({ name: 'b1_pool', poolSize: 2, strides: 2 })).apply(h, kw) as Sym;
    }),
    block('fc', (x, m, kw) => {
      const h = m('flatten', () => tf.layers.flatten({ name: 'b2_flatten' })).apply(x, kw) as Sym;
      return m('dense', () => dense(init, 'b2_dense', lastDim(h), 128, 'relu')).apply(h, kw) as Sym;
    }),
    block('logits', (x, m, kw) => m('dense', () => dense(init, 'b3_logits', lastDim(x), numClasses)).apply(x, kw) as Sym),
  ];
}

function resnet20(init: Init, numClasses: number): BlockDef[] {
  const basic = (
    prefix: string,
    x: Sym,
    m: <L extends tf.layers.Layer>(key: string, f: () => L) => L,
    filters: number,
    stride: number,
    kw: Kw,
  ): Sym => {
    let h = m(`${prefix}c1`, () => conv(init, `${prefix}_conv1`, x, filters, 3, { strides: stride, bias: false })).apply(x, kw) as Sym;
    h = m(`${prefix}bn1`, () => bn(`${prefix}_bn1`)).apply(h, kw) as Sym;
    h = m(`${prefix}r1`, () => tf.layers.reLU({ name: `${prefix}_relu1` })).apply(h, kw) as Sym;
    const h1 = h;
    h = m(`${prefix}c2`, () => conv(init, `${prefix}_conv2`, h1, filters, 3, { bias: false })).apply(h, kw) as Sym;
    h = m(`${prefix}bn2`, () => bn(`${prefix}_bn2`)).apply(h, kw) as Sym;
    let shortcut = x;
    if (stride !== 1 || lastDim(x) !== filters) {
      shortcut = m(`${prefix}sc`, () => conv(init, `${prefix}_proj`, x, filters, 1, { strides: stride, bias: false })).apply(x, kw) as Sym;
      shortcut = m(`${prefix}scbn`, () => bn(`${prefix}_projbn`)).apply(shortcut, kw) as Sym;
    }
    h = m(`${prefix}add`, () => tf.layers.add({ name: `${prefix}_add` })).apply([h, shortcut], kw) as Sym;
    return m(`${prefix}r2`, () => tf.layers.reLU({ name: `${prefix}_relu2` })).apply(h, kw) as Sym;
  };
  const stage = (k: number, filters: number, stride: number): BlockDef =>
    block(`stage${k}`, (x, m, kw) => {
      let h = x;
      for (let i = 0; i < 3; i++) h = basic(`b${k}_u${i}`, h, m, filters, i === 0 ? stride : 1, kw);
      return h;
    });
  return [
    block('stem', (x, m, kw) => {
      let h = m('conv', () => conv(init, 'b0_conv', x, 16, 3, { bias: false })).apply(x, kw) as Sym;
      h = m('bn', () => bn('b0_bn')).apply(h, kw) as Sym;
      return m('relu', () => tf.layers.reLU({ name: 'b0_relu' })).apply(h, kw) as Sym;
    }),
    stage(1, 16, 1),
    stage(2, 32, 2),
    stage(3, 64, 2),
    block('logits', (x, m, kw) => {
      const h = m('pool', () => tf.layers.globalAveragePooling2d({ name: 'b4_pool' })).apply(x, kw) as Sym;
      return m('dense', () => dense(init, 'b4_logits', lastDim(h), numClasses)).apply(h, kw) as Sym;
    }),
  ];
}

function mobilenetV2(init: Init, numClasses: number): BlockDef[] {
  type M = <L extends tf.layers.Layer>(key: string, f: () => L) => L;
  const relu6 = (m: M, key: string, name: string, x: Sym, kw: Kw) => m(key, () => tf.layers.reLU({ name, maxValue: 6 })).apply(x, kw) as Sym;
  const inverted = (p: string, x: Sym, m: M, expand: number, out: number, stride: number, kw: Kw): Sym => {
    const inC = lastDim(x);
    let h = x;
    if (expand !== 1) {
      h = m(`${p}e`, () => conv(init, `${p}_expand`, x, inC * expand, 1, { bias: false })).apply(h, kw) as Sym;
      h = m(`${p}ebn`, () => bn(`${p}_expand_bn`)).apply(h, kw) as Sym;
      h = relu6(m, `${p}er`, `${p}_expand_relu6`, h, kw);
    }
    h = m(`${p}dw`, () =>
      tf.layers.depthwiseConv2d({
        name: `${p}_dw`,
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: init.kernel(),
      }),
    ).apply(h, kw) as Sym;
    h = m(`${p}dwbn`, () => bn(`${p}_dw_bn`)).apply(h, kw) as Sym;
    h = relu6(m, `${p}dwr`, `${p}_dw_relu6`, h, kw);
    const hh = h;
    h = m(`${p}pj`, () => conv(init, `${p}_project`, hh, out, 1, { bias: false })).apply(h, kw) as Sym;
    h = m(`${p}pjbn`, () => bn(`${p}_project_bn`)).apply(h, kw) as Sym;
    if (stride === 1 && inC === out) h = m(`${p}add`, () => tf.layers.add({ name: `${p}_add` })).apply([h, x], kw) as Sym;
    return h;
  };
  // (expansion t, output channels c, repeats n, first stride s): MobileNetV2's table, trimmed for small inputs.
  const table: Array<[number, number, number, number]> = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 3, 2],
    [6, 96, 2, 1],
  ];
  const blocks: BlockDef[] = [
    block('stem', (x, m, kw) => {
      let h = m('conv', () => conv(init, 'b0_conv', x, 32, 3, { strides: 2, bias: false })).apply(x, kw) as Sym;
      h = m('bn', () => bn('b0_bn')).apply(h, kw) as Sym;
      return relu6(m, 'relu', 'b0_relu6', h, kw);
    }),
  ];
  table.forEach(([t, c, n, s], si) => {
    blocks.push(
      block(`stage${si + 1}`, (x, m, kw) => {
        let h = x;
        for (let i = 0; i < n; i++) h = inverted(`b${si + 1}_u${i}`, h, m, t, c, i === 0 ? s : 1, kw);
        return h;
      }),
    );
  });
  const k = blocks.length;
  blocks.push(
    block('head', (x, m, kw) => {
      let h = m('conv', () => conv(init, `b${k}_conv`, x, 320, 1, { bias: false })).apply(x, kw) as Sym;
      h = m('bn', () => bn(`b${k}_bn`)).apply(h, kw) as Sym;
      h = relu6(m, 'relu', `b${k}_relu6`, h, kw);
      return m('pool', () => tf.layers.globalAveragePooling2d({ name: `b${k}_pool` })).apply(h, kw) as Sym;
    }),
    block('logits', (x, m, kw) => m('dense', () => dense(init, `b${k + 1}_logits`, lastDim(x), numClasses)).apply(x, kw) as Sym),
  );
  return blocks;
}

function blocksFor(spec: ModelSpec, seed: number): BlockDef[] {
  const init = new Init(seed);
  switch (spec.arch as Arch) {
    case 'cnn-small':
      return cnnSmall(init, spec.numClasses);
    case 'resnet20':
      return resnet20(init, spec.numClasses);
    case 'mobilenetv2':
      return mobilenetV2(init, spec.numClasses);
  }
}

/** Builds the flat model and its per-block segments (shared weights). */
export function buildNetwork(spec: ModelSpec, seed: number): Network {
  validateModelSpec(spec);
  if (!Number.isFinite(seed)) throw new AppError('input', `seed: expected a number, got ${seed}`);
  const [h, w] = spec.inputSize;
  return assemble(blocksFor(spec, seed), tf.input({ shape: [h, w, spec.channels], name: 'image' }), String(spec.arch).replace(/[^a-z0-9]/gi, '_'));
}

/** The flat model (input → blocks → softmax) and the blocks as eager runners sharing its layers. */
function assemble(blocks: BlockDef[], input: Sym, name: string): Network {
  let x: Sym = input;
  const shapes: number[][] = [];
  for (const b of blocks) {
    shapes.push(x.shape.slice(1) as number[]);
    x = b.apply(x);
  }
  const probs = tf.layers.softmax({ name: 'probabilities' }).apply(x) as Sym;
  const model = tf.model({ inputs: input, outputs: probs, name });
  const runners = blocks.map((b) => (t: tf.Tensor, training: boolean) => b.apply(t as unknown as Sym, { training }) as unknown as tf.Tensor);
  return { model, blocks: runners, blockNames: blocks.map((b) => b.name), blockInputShapes: shapes };
}

export interface HeadSpec {
  /** Length of the backbone's feature vector. */
  featureSize: number;
  numClasses: number;
  /** Units of a hidden ReLU layer before the classifier; 0 = none (a linear probe). */
  hidden: number;
}

/**
 * The head trained on a frozen backbone's cached embeddings: features → [dense(hidden) + ReLU] → logits →
 * softmax, seeded like the zoo. Its input is the feature vector held as a 1×1×D map, so the training loop,
 * the mixer (MixUp of the features: the `features` mixing point) and evaluation treat it like any network.
 */
export function buildHeadNetwork(spec: HeadSpec, seed: number): Network {
  if (!Number.isInteger(spec.featureSize) || spec.featureSize < 1) throw new AppError('input', `the backbone's feature size must be ≥ 1, got ${spec.featureSize}`);
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) throw new AppError('input', `numClasses: a classifier needs at least 2 classes, got ${spec.numClasses}`);
  const init = new Init(seed);
  const blocks: BlockDef[] = [];
  let width = spec.featureSize;
  const flat = tf.layers.flatten({ name: 'features' });
  if (spec.hidden > 0) {
    const d = dense(init, 'head_hidden', width, spec.hidden, 'relu');
    blocks.push({ name: 'hidden', apply: (x, kw) => d.apply(flat.apply(x, kw), kw) as Sym });
    width = spec.hidden;
  }
  const logits = dense(init, 'head_logits', width, spec.numClasses);
  const first = blocks.length === 0;
  blocks.push({ name: 'logits', apply: (x, kw) => logits.apply(first ? flat.apply(x, kw) : x, kw) as Sym });
  return assemble(blocks, tf.input({ shape: [1, 1, spec.featureSize], name: 'features_in' }), 'head');
}

/** The contract's entry point: input → softmax probabilities, blocks named `b<k>_…`. */
export function buildModel(spec: ModelSpec, seed: number): tf.LayersModel {
  return buildNetwork(spec, seed).model;
}

/** Runs the segments from the input to the logits (no mixing). `training` switches BatchNorm to batch stats. */
export function forwardLogits(net: Network, x: tf.Tensor, training: boolean): tf.Tensor2D {
  let h: tf.Tensor = x;
  for (const run of net.blocks) h = run(h, training);
  return h as tf.Tensor2D;
}

/**
 * One model out of a backbone run: the backbone's own ONNX graph, decoded with a real protobuf decoder
 * (onnx-proto, protobufjs), with the trained head appended after its feature output — a global average pool
 * when the features are a 4-D map, the head's dense layers as MatMul + Add (+ Relu), and a Softmax — so the
 * exported `model.onnx` takes images (preprocessed as config.json says) and gives class probabilities.
 * Nothing of the backbone is re-encoded by hand: every field it had is decoded and written back by protobufjs.
 */
import { onnx } from 'onnx-proto';
import { AppError } from '../../core/errors';

export interface HeadLayer {
  /** [in, units], row-major (a tfjs Dense kernel). */
  kernel: Float32Array;
  bias: Float32Array;
  inDim: number;
  units: number;
  relu: boolean;
}

export interface AppendHeadOptions {
  /** The backbone's feature output (the graph output the embeddings came from). */
  featureOutput: string;
  /** Shape of that output: [N, D], [N, 1, D], a 1×1 map ([N, D, 1, 1] or [N, 1, 1, D]) or a 4-D feature map. */
  featureDims: number[];
  /** Where a 4-D map keeps its channels: the backbone's input layout. */
  layout: 'NCHW' | 'NHWC';
  layers: HeadLayer[];
  outputName: string;
  docString?: string;
  metadata?: Record<string, string>;
  producerVersion?: string;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

export function appendHead(backbone: Uint8Array, o: AppendHeadOptions): Uint8Array {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(backbone);
  } catch (err) {
    throw new AppError('corrupt', `the backbone's ONNX file does not decode: ${(err as Error).message}`);
  }
  // Decoded messages are class instances whose repeated fields are arrays (empty when absent).
  const graph = model.graph as onnx.GraphProto | null;
  if (!graph) throw new AppError('corrupt', 'the backbone ONNX model has no graph');
  if (!graph.output.some((v) => v.name === o.featureOutput)) {
    throw new AppError('corrupt', `the backbone ONNX graph has no output '${o.featureOutput}' (its outputs: ${graph.output.map((v) => v.name).join(', ')})`);
  }
  const used = new Set<string>();
  const add = (x: string | null | undefined) => x && used.add(x);
  for (const n of graph.node) for (const x of [...(n.input ?? []), ...(n.output ?? []), n.name]) add(x);
  for (const t of graph.initializer) add(t.name);
  for (const v of [...graph.input, ...graph.output]) add(v.name);
  const unique = (base: string) => {
    let name = `mixup_head/${base}`;
    for (let i = 1; used.has(name); i++) name = `mixup_head/${base}_${i}`;
    used.add(name);
    return name;
  };
  const node = (opType: string, inputs: string[], out: string, attribute: onnx.IAttributeProto[] = []) => {
    const name = unique(out);
    graph.node.push(onnx.NodeProto.create({ opType, name: unique(`${out}/${opType}`), input: inputs, output: [name], attribute }));
    return name;
  };
  const init = (base: string, dims: number[], data: Float32Array) => {
    const name = unique(base);
    graph.initializer.push(onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) }));
    return name;
  };
  const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });

  // The head's output takes the name the app's exports use. A backbone that already has a tensor of that name
  // (one exported by this app does: its own output) has it renamed everywhere first.
  let featureOutput = o.featureOutput;
  if (used.has(o.outputName)) {
    const renamed = unique(`backbone_${o.outputName}`);
    const swap = (v: string) => (v === o.outputName ? renamed : v);
    for (const n of graph.node) {
      n.input = (n.input ?? []).map(swap);
      n.output = (n.output ?? []).map(swap);
    }
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo, ...graph.initializer]) if (v.name === o.outputName) v.name = renamed;
    if (featureOutput === o.outputName) featureOutput = renamed;
    used.delete(o.outputName);
  }
  let x = featureOutput;
  const d = o.featureDims;
  const rank = d.length;
  const vectorLike = rank === 3 || (rank === 4 && d[2] === 1 && (d[3] === 1 || d[1] === 1));
  if (vectorLike) {
    x = node('Flatten', [x], 'features', [int('axis', 1)]);
  } else if (rank === 4) {
    if (o.layout === 'NHWC') x = node('Transpose', [x], 'features_nchw', [ints('perm', [0, 3, 1, 2])]);
    x = node('GlobalAveragePool', [x], 'features_pooled');
    x = node('Flatten', [x], 'features', [int('axis', 1)]);
  } else if (rank !== 2) {
    throw new AppError('unsupported', `the backbone's features have shape [${d.join(', ')}]; a head can follow [N, D] features or a 4-D map`);
  }
  o.layers.forEach((l, k) => {
    if (l.kernel.length !== l.inDim * l.units || l.bias.length !== l.units) throw new AppError('internal', `head layer ${k}: weights do not match [${l.inDim}, ${l.units}]`);
    x = node('MatMul', [x, init(`dense${k}/kernel`, [l.inDim, l.units], l.kernel)], `dense${k}/matmul`);
    x = node('Add', [x, init(`dense${k}/bias`, [l.units], l.bias)], `dense${k}`);
    if (l.relu) x = node('Relu', [x], `dense${k}/relu`);
  });
  // The graph's one output becomes the probabilities.
  used.add(o.outputName);
  graph.node.push(onnx.NodeProto.create({ opType: 'Softmax', name: unique('probabilities/Softmax'), input: [x], output: [o.outputName], attribute: [int('axis', 1)] }));
  const classes = o.layers[o.layers.length - 1]!.units;
  graph.output = [
    onnx.ValueInfoProto.create({
      name: o.outputName,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({ elemType: FLOAT, shape: onnx.TensorShapeProto.create({ dim: [{ dimParam: 'batch' }, { dimValue: classes }] }) }),
      }),
    }),
  ];
  if (o.docString) model.docString = o.docString;
  if (o.producerVersion) {
    model.producerName = `${model.producerName ? `${model.producerName} + ` : ''}mixup-studio`;
    model.producerVersion = o.producerVersion;
  }
  for (const [key, value] of Object.entries(o.metadata ?? {})) {
    model.metadataProps = model.metadataProps.filter((p) => p.key !== key);
    model.metadataProps.push(onnx.StringStringEntryProto.create({ key, value }));
  }
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Converts a trained tfjs LayersModel (channels-last images, softmax output) into an ONNX model.
 *
 * The ONNX graph takes the same NHWC float input as the tfjs model (`onnxLayout: 'NHWC'`): the first node
 * transposes it to NCHW, which ONNX's Conv/Pool operators expect; 4-D tensors then stay NCHW, and a
 * Flatten first transposes back to NHWC so the element order (and the Dense weights after it) match tfjs.
 * Batch is a symbolic dimension. Every layer kind the app's architectures use has a converter in
 * ./layers.ts (LAYER_CONVERTERS, by tfjs class name); anything else is refused with an `unsupported` error
 * naming the layer. This file is the driver: it walks the layer calls in order and names the graph's input
 * and output; ./graph.ts holds the builder.
 */
import type * as tf from '@tensorflow/tfjs';
import { AppError } from '../../core/errors';
import { GraphBuilder, type LayerLike, type SymbolicLike, type Value } from './graph';
import { LAYER_CONVERTERS } from './layers';
import { DataType, encodeModel, type OnnxModel } from './proto';

// Opset 18 (IR 8): Pad takes an `axes` input, which keeps onnxruntime's PadFusion from folding a zero Pad
// into a following MaxPool/AveragePool (that fold turns zero padding into pool padding, which the pool
// ignores: wrong results, or a load error when the sum exceeds the kernel).
export const ONNX_OPSET = 18;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'probabilities';

export interface ConvertOptions {
  /** Written into the ONNX model's metadata_props (e.g. labels, run id). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
}

/** Converts one call of a layer through its entry in LAYER_CONVERTERS; a layer kind without one is refused. */
function convertLayer(g: GraphBuilder, layer: LayerLike, inputs: Value[], outShape: (number | null)[]): Value {
  const cls = layer.getClassName();
  const cfg = layer.getConfig();
  const convert = Object.hasOwn(LAYER_CONVERTERS, cls) ? LAYER_CONVERTERS[cls] : undefined;
  if (!convert) throw new AppError('unsupported', `ONNX export: layer ${layer.name} of kind ${cls} is not supported`);
  return convert(g, { layer, cls, cfg, base: layer.name, inputs, outShape });
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

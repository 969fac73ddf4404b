/**
 * `backbone import --output TENSOR` for a tensor inside the graph (a downloaded classifier cut before its
 * classifier): the copy's graph is decoded with onnx-proto, its outputs replaced by that one tensor, and written
 * back; onnxruntime then runs only what that tensor needs. Every other field of the model is kept as decoded.
 */
import { onnx } from 'onnx-proto';
import { AppError } from '../core/errors';

export function cutAtTensor(bytes: Uint8Array, tensor: string, shownAs: string): Uint8Array {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new AppError('input', `${shownAs} does not decode as an ONNX model: ${(err as Error).message}`);
  }
  const graph = model.graph as onnx.GraphProto | null;
  if (!graph) throw new AppError('input', `${shownAs} has no graph`);
  const made = graph.node.some((n) => (n.output ?? []).includes(tensor));
  if (!made) {
    const outputs = graph.output.map((v) => v.name).join(', ');
    throw new AppError('input', `--output: ${shownAs} has no output or inner tensor '${tensor}' (its outputs: ${outputs}; an inner tensor is named by a node's output)`);
  }
  const known = graph.valueInfo.find((v) => v.name === tensor);
  graph.output = [
    known ??
      onnx.ValueInfoProto.create({ name: tensor, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: onnx.TensorProto.DataType.FLOAT }) }) }),
  ];
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The `model.onnx` of a run trained on a frozen backbone: the backbone's graph (from the home's copy, checked
 * by sha256 against the one the run used) with the run's trained head appended (./onnx/append-head.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { AppError } from '../core/errors';
import type { Services } from '../core/services';
import type { RunInfo } from '../training/runs-repository';
import { appendHead, type HeadLayer } from './onnx/append-head';
import { ONNX_OUTPUT_NAME } from './onnx/convert';

/** The head's dense layers, in order, with their weights (the run's saved model: features → dense… → softmax). */
function headLayers(model: tf.LayersModel): HeadLayer[] {
  const layers = model.layers.filter((l) => l.getClassName() === 'Dense');
  if (layers.length === 0) throw new AppError('corrupt', 'the run\'s head has no dense layer');
  return layers.map((l) => {
    const [k, b] = l.getWeights();
    const [inDim, units] = k!.shape as [number, number];
    return { kernel: Float32Array.from(k!.dataSync() as Float32Array), bias: Float32Array.from(b!.dataSync() as Float32Array), inDim, units, relu: (l.getConfig() as { activation?: string }).activation === 'relu' };
  });
}

export async function backboneRunOnnx(
  services: Services,
  run: RunInfo,
  head: tf.LayersModel,
  meta: { docString: string; metadata: Record<string, string>; producerVersion: string },
): Promise<Uint8Array> {
  const used = run.preprocessing?.backbone;
  if (!used) throw new AppError('internal', `run ${run.id} did not train on a backbone`);
  const { findBackbone } = await import('../backbones/repository');
  const bb = findBackbone(services.db, used.name);
  if (!bb || bb.sha256 !== used.sha256) {
    throw new AppError(
      'not-found',
      `run ${run.id} trained on backbone '${used.name}' (sha256 ${used.sha256.slice(0, 12)}…), which ${bb ? 'has since been replaced by another file of that name' : 'is no longer imported'}: import that file again as '${used.name}' to export this run`,
    );
  }
  const file = join(services.paths.home, bb.file);
  const { openOnnx, featureDims } = await import('../backbones/onnx-model');
  const { session } = await openOnnx(file, `backbone '${bb.name}' (${bb.file})`, 1);
  let dims: number[];
  try {
    dims = await featureDims({ session, inputName: bb.inputName, outputName: bb.outputName }, bb.preprocessing);
  } finally {
    await session.release();
  }
  return appendHead(readFileSync(file), {
    featureOutput: bb.outputName,
    featureDims: dims,
    layout: bb.preprocessing.layout,
    layers: headLayers(head),
    outputName: ONNX_OUTPUT_NAME,
    ...meta,
  });
}

/**
 * The size check of a saved model's topology against its weights manifest (training/model-files.ts) knows where
 * each layer class keeps its sizes: a valid model saved by tfjs with the Keras layers backbones use (separable,
 * depthwise and transposed convolutions, dense) reads back; a tampered size on any of them is refused naming it.
 * (Found by review: a SeparableConv2D's filters were checked against its depthwise kernel, refusing valid models.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src-main/training/checkpoint';
import { readSavedModel } from '../../src-main/training/model-files';
import { tempDir } from '../helpers/temp';

describe('layer sizes in a saved model', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    tmp = tempDir('mixup-layer-sizes-');
    const model = tf.sequential({
      layers: [
        tf.layers.separableConv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, depthMultiplier: 2, name: 'sep' }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 1, name: 'dw' }),
        tf.layers.conv2dTranspose({ filters: 5, kernelSize: 2, name: 'up' }),
        tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'pw' }),
        tf.layers.globalAveragePooling2d({ name: 'gap' }),
        tf.layers.dense({ units: 3, name: 'head' }),
      ],
    });
    await saveModel(model, join(tmp.dir, 'model'));
    model.dispose();
  });
  afterAll(() => tmp?.cleanup());

  it('reads back a valid model with separable, depthwise and transposed convolutions', () => {
    const m = readSavedModel(join(tmp.dir, 'model'));
    expect(m.weightSpecs.map((w) => w.name)).toContain('sep/pointwise_kernel');
  });

  it('refuses a tampered size of each of them, naming the layer, the field and the kernel', () => {
    const file = join(tmp.dir, 'model', 'model.json');
    const original = readFileSync(file, 'utf8');
    for (const [layer, field, kernel] of [
      ['sep', 'filters', 'pointwise_kernel'],
      ['sep', 'depth_multiplier', 'depthwise_kernel'],
      ['dw', 'depth_multiplier', 'depthwise_kernel'],
      ['up', 'filters', 'kernel'],
      ['pw', 'filters', 'kernel'],
      ['head', 'units', 'kernel'],
    ]) {
      const j = JSON.parse(original);
      const l = j.modelTopology.config.layers.find((x: { config: { name: string } }) => x.config.name === layer);
      l.config[field] = 100_000_000;
      writeFileSync(file, JSON.stringify(j));
      expect(() => readSavedModel(join(tmp.dir, 'model')), `${layer}.${field}`).toThrow(`layer ${layer} declares ${field} 100000000, its ${kernel} in the manifest has shape`);
    }
    writeFileSync(file, original);
  });
});

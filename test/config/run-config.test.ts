import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/core/errors';
import { defaultRunConfig, resolveRunConfig, runConfigJsonSchema, withDatasetDefaults } from '../../src-main/config/run-config';

function errorOf(raw: unknown): AppError {
  try {
    resolveRunConfig(raw);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(raw)}`);
}

describe('run config', () => {
  it('fills every field with a default (CLI.md shape), mixup on with α 0.2 and augment off', () => {
    const c = defaultRunConfig();
    expect(c).toMatchObject({
      seed: 0,
      epochs: 10,
      batchSize: 64,
      model: { arch: 'cnn-small', inputSize: null, channels: null },
      optimizer: { name: 'adam', lr: 0.001, weightDecay: 0, schedule: 'constant' },
      augment: { flip: false, padCrop: 0 },
      mixup: { alpha: 0.2, mode: 'batch', prob: 1, cutmixAlpha: 0, switchProb: 0.5, labelSmoothing: 0, offEpoch: null, manifold: null },
      policy: null,
      dataset: null,
    });
  });

  it('keeps given values and fills the rest of a nested section', () => {
    const c = resolveRunConfig({ mixup: { alpha: 0.4, offEpoch: 5 }, model: { inputSize: [32, 32] } });
    expect(c.mixup.alpha).toBe(0.4);
    expect(c.mixup.offEpoch).toBe(5);
    expect(c.mixup.mode).toBe('batch');
    expect(c.model.inputSize).toEqual([32, 32]);
    expect(c.model.arch).toBe('cnn-small');
  });

  it('names the dotted path of an unknown key, at any depth', () => {
    expect(errorOf({ mixup: { alpah: 0.2 } }).message).toContain('mixup.alpah: unknown key');
    expect(errorOf({ learningRate: 1 }).message).toContain('learningRate: unknown key');
    expect(errorOf({ mixup: { alphaRamp: { kind: 'linear', foo: 1 } } }).message).toContain('mixup.alphaRamp.foo: unknown key');
  });

  it('names the field and the bad value', () => {
    const e = errorOf({ mixup: { alpha: -1 } });
    expect(e.kind).toBe('input');
    expect(e.message).toMatch(/mixup\.alpha: must be ≥ 0 \(got -1\)/);
    expect(errorOf({ mixup: { prob: 1.5 } }).message).toMatch(/mixup\.prob: must be ≤ 1/);
    expect(errorOf({ mixup: { mode: 'pairs' } }).message).toMatch(/mixup\.mode/);
    expect(errorOf({ mixup: { offEpoch: 1.5 } }).message).toMatch(/mixup\.offEpoch/);
    expect(errorOf({ mixup: { labelSmoothing: 1 } }).message).toMatch(/mixup\.labelSmoothing: must be < 1/);
    expect(errorOf({ model: { arch: 'vgg' } }).message).toMatch(/model\.arch/);
    expect(errorOf({ model: { channels: 2 } }).message).toMatch(/model\.channels: must be 1 or 3/);
    expect(errorOf({ batchSize: 0 }).message).toMatch(/batchSize: must be ≥ 1/);
    expect(errorOf({ mixup: { alphaRamp: { startEpoch: 4, endEpoch: 2 } } }).message).toMatch(/mixup\.alphaRamp\.endEpoch/);
    expect(errorOf([1, 2]).message).toMatch(/must be a JSON object/);
    expect(errorOf({ mixup: { manifold: {} } }).message).toMatch(/mixup\.manifold\.layers/);
    expect(errorOf({ policy: { pairs: [{ a: 'x', b: 'y', weight: 2 }] } }).message).toMatch(/policy\.pairs\.0\.weight: must be ≤ 1/);
  });

  it('has a JSON Schema that forbids unknown keys and shows the defaults', () => {
    const s = runConfigJsonSchema() as any;
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.mixup.additionalProperties).toBe(false);
    expect(s.properties.mixup.properties.alpha.default).toBe(0.2);
    expect(s.properties.mixup.properties.mode.enum).toEqual(['batch', 'elem', 'pair']);
    expect(s.required ?? []).toEqual([]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('accepts the sample configs the project ships, and fills dataset defaults only where null', () => {
    const dir = join(__dirname, '..', '..', 'resources', 'configs');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      expect(() => resolveRunConfig(JSON.parse(readFileSync(join(dir, f), 'utf8')), f)).not.toThrow();
    }
    const c = withDatasetDefaults(resolveRunConfig({ model: { channels: 3 } }), { inputSize: [28, 28], channels: 1 });
    expect(c.model).toMatchObject({ inputSize: [28, 28], channels: 3 });
  });

  it('takes Manifold MixUp points as block indices (0 = input, k = block k) and resolves them to the model\'s block names', () => {
    const cnn = resolveRunConfig({ mixup: { manifold: [0, 2, 2] } });
    expect(cnn.mixup.manifold).toEqual({ layers: ['conv2'], includeInput: true });
    const resnet = resolveRunConfig({ model: { arch: 'resnet20' }, mixup: { manifold: [1, 3] } });
    expect(resnet.mixup.manifold).toEqual({ layers: ['stem', 'stage2'], includeInput: false });
    // The named form is kept as written.
    expect(resolveRunConfig({ mixup: { manifold: { layers: ['fc'] } } }).mixup.manifold).toEqual({ layers: ['fc'], includeInput: true });
    // cnn-small has 3 mixable blocks (conv1, conv2, fc): index 4 would be the logits.
    expect(() => resolveRunConfig({ mixup: { manifold: [1, 4] } }, 'run.json')).toThrow(/run\.json: mixup\.manifold\[1\]: cnn-small has no block 4/);
    expect(() => resolveRunConfig({ mixup: { manifold: [0] } })).toThrow(/mixup\.manifold: name at least one hidden block/);
    expect(() => resolveRunConfig({ mixup: { manifold: [-1] } })).toThrow(/mixup\.manifold/);
  });
});


/**
 * The backend is one checked word at every door: the operations refuse an unknown one with the choices (serve and
 * the app reach them), and the CLI refuses it as a usage error before any work. Nothing reaches the engine as an
 * unchecked string.
 */
import { describe, expect, it } from 'vitest';
import { parseOpInput } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { toErrorEnvelope } from '../../src-main/core/errors';
import { BACKEND_ORDER } from '../../src-main/training/engine/index';
import { runCli } from '../helpers/cli';

const inputs: Record<string, Record<string, unknown>> = {
  'runs:train': { dataset: 'd', config: {} },
  'bench:train': {},
  'models:predict': { modelDir: '/m', images: ['/a.png'] },
};

describe('backend names', () => {
  for (const [name, base] of Object.entries(inputs)) {
    it(`${name} refuses an unknown backend as input, naming the field and the choices`, () => {
      const op = operations.get(name)!;
      let env;
      try {
        parseOpInput(op, { ...base, backend: 'nope' });
      } catch (err) {
        env = toErrorEnvelope(err);
      }
      expect(env).toMatchObject({ kind: 'input', message: `${name}: backend: unknown backend 'nope' (one of ${BACKEND_ORDER.join(', ')})` });
      expect(parseOpInput(op, { ...base, backend: 'wasm' })).toMatchObject({ backend: 'wasm' });
    });
  }

  it('the CLI refuses an unknown --backend or --arch as a usage error listing the choices', async () => {
    const bad = await runCli(['bench', 'train', '--backend', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'--backend <name>' argument 'nope' is invalid\. Allowed choices are tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu/);
    expect(bad.stderr.trim().split('\n'), 'one stderr line (CLI.md)').toHaveLength(1);
    const arch = await runCli(['bench', 'train', '--arch', 'vgg']);
    expect(arch.code).toBe(2);
    expect(arch.stderr).toMatch(/Allowed choices are cnn-small, resnet20, mobilenetv2/);
  });
});

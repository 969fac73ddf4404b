import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

const SAMPLE = join(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');

describe('mixup preview shows what training mixes', () => {
  const t = tempDir('mixup-preview-train-');
  const home = join(t.dir, 'home');
  const cli = (...args: string[]) => runCli(args, { home, timeoutMs: 240_000 });
  afterAll(() => t.cleanup());

  it('gives the same per-epoch audit (λ values, pairs, unmixed counts) as a real training run with the same seed', async () => {
    expect((await cli('index', SAMPLE, '--name', 'fm', '--json')).code).toBe(0);
    expect((await cli('policy', 'forbid', 'fm', 'shirt', 'coat')).code).toBe(0);
    const config = join(t.dir, 'run.json');
    writeFileSync(
      config,
      JSON.stringify({
        seed: 11,
        epochs: 1,
        batchSize: 128,
        model: { arch: 'cnn-small', inputSize: [28, 28], channels: 1 },
        mixup: { alpha: 0.4, cutmixAlpha: 1, mode: 'elem' },
      }),
    );
    const preview = await cli('mixup', 'preview', 'fm', '--config', config, '--json');
    expect(preview.code, preview.stderr).toBe(0);
    const train = await cli('train', 'fm', '--config', config, '--json');
    expect(train.code, train.stderr).toBe(0);
    const runId = train.json().run.id;
    const show = await cli('runs', 'show', String(runId), '--json');
    expect(show.code, show.stderr).toBe(0);
    const audit = show.json().audit;
    const epochs = preview.json().epochs;
    expect(audit).toHaveLength(1);
    expect(epochs[0].mixedSamples).toBeGreaterThan(0);
    for (const key of ['active', 'alpha', 'prob', 'mixedSamples', 'unmixedSamples', 'pairs', 'lambdas', 'targetClassMass']) {
      expect(audit[0][key], key).toEqual(epochs[0][key]);
    }
    expect(audit[0].pairs.some((p: { a: string; b: string }) => p.a === 'coat' && p.b === 'shirt')).toBe(false);
  }, 300_000);
});

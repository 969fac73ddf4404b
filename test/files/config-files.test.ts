/**
 * Run-config files (issue #11 items 3, 12, 13, 14): one reader for every front end. An export's config.json
 * trains as the README says; a device, FIFO or huge file is refused before it is read; `null`, `1e999` and a
 * 100,000-deep `policy` get messages naming the file and field instead of defaults, "got null" or a stack overflow.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../src-main/config/run-config';
import type { ExportedConfigFile, ExportPreprocessing, ExportProvenance } from '../../src-main/config/export-file';
import { runCli } from '../helpers/cli';
import { tempDir, tempServices } from '../helpers/temp';
import { call, fifo, smallDataset } from './fixture';

const t = tempDir('mixup-config-files-');
const services = tempServices();
const home = services.home;
const cli = (args: string[], timeoutMs = 30_000) => runCli(args, { home, timeoutMs });
const file = (name: string, text: string) => {
  const p = join(t.dir, name);
  writeFileSync(p, text);
  return p;
};
const deepPolicy = (n: number) => `{"epochs": 1, "policy": ${'{"pairs": ['.repeat(1)}${'['.repeat(n)}${']'.repeat(n)}]}}`;

beforeAll(async () => {
  await call(services, 'datasets:index', { root: smallDataset(t.dir), name: 'ds' });
}, 60_000);
afterAll(() => {
  services.cleanup();
  t.cleanup();
});

/** An export's config.json as `runs:export` writes it: the resolved config, the dataset reference, two reserved sections. */
function exportedConfig(): ExportedConfigFile {
  const config = resolveRunConfig({ seed: 3, epochs: 1, batchSize: 8, model: { arch: 'cnn-small', inputSize: [8, 8], channels: 1 } });
  const preprocessing: ExportPreprocessing = { inputSize: [8, 8], channels: 1, scale: 1 / 255, mean: [0], std: [1], resize: 'fill', onnxLayout: 'NHWC' };
  const provenance: ExportProvenance = {
    format: 'mixup-studio.export',
    version: 1,
    run: 3,
    status: 'completed',
    dataset: 'ds',
    backend: 'wasm',
    device: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:01:00.000Z',
    exportedAt: '2025-01-01T00:02:00.000Z',
    appVersion: '0.0.0',
    datasetFingerprint: 'f'.repeat(64),
    fileListHash: null,
    fileCount: 20,
    labels: [],
    metrics: null,
  };
  return { ...config, dataset: { name: 'ds', id: 1, fingerprint: 'f'.repeat(64) }, preprocessing, provenance };
}

describe('one config reader for every front end', () => {
  it('`train DATASET --config EXPORT/config.json` trains (sections set aside, the changed-dataset warning kept)', async () => {
    const cfg = file('config.json', `${JSON.stringify(exportedConfig(), null, 2)}\n`);
    const r = await cli(['--json', 'train', 'ds', '--config', cfg, '--backend', 'wasm'], 180_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ status: 'completed', epochs: [{ epoch: 0 }] });
    expect(r.stderr).toMatch(/dataset 'ds' differs from the one .*config\.json was exported from/);
    const resolved = await cli(['--json', 'config', 'resolve', cfg]);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.json()).toMatchObject({ seed: 3, epochs: 1 });
    expect(resolved.json()).not.toHaveProperty('preprocessing');
    // The same document sent to the operations (serve, IPC) is read the same way.
    const preview = await call(services, 'mixup:preview', { dataset: 'ds', config: exportedConfig() });
    expect(preview).toMatchObject({ seed: 3 });
    expect(await call(services, 'config:resolve', { config: exportedConfig() })).toMatchObject({ seed: 3 });
  }, 240_000);

  it('a config file holding null (or any non-object) is refused, not trained with defaults', async () => {
    for (const [name, text] of [['null.json', 'null'], ['list.json', '[]'], ['num.json', '3']]) {
      const r = await cli(['config', 'resolve', file(name, text)]);
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim()).toBe(`mixup-studio: ${join(t.dir, name)}: a run config must be a JSON object`);
    }
    const train = await cli(['train', 'ds', '--config', join(t.dir, 'null.json')]);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/null\.json: a run config must be a JSON object/);
    await expect(call(services, 'config:resolve', { config: null })).rejects.toMatchObject({ kind: 'input', message: 'config: a run config must be a JSON object' });
  }, 60_000);

  it('alpha: 1e999 says the number is not finite instead of "got null"', async () => {
    const r = await cli(['config', 'resolve', file('inf.json', '{"mixup": {"alpha": 1e999}}')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`mixup-studio: ${join(t.dir, 'inf.json')}: mixup.alpha: must be a finite number (got a number too large to represent)`);
  }, 30_000);

  it('a 100,000-deep policy in a config is an input error naming the field (CLI exit 2 and the operations)', async () => {
    const cfg = file('deep.json', deepPolicy(100_000));
    const r = await cli(['train', 'ds', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`mixup-studio: ${cfg}: policy.pairs[0][0]…: nested more than 64 levels deep`);
    const deep = JSON.parse(deepPolicy(100_000));
    for (const op of ['config:resolve', 'mixup:preview']) {
      await expect(call(services, op, { dataset: 'ds', config: deep }), op).rejects.toMatchObject({
        kind: 'input',
        message: 'config: policy.pairs[0][0]…: nested more than 64 levels deep',
      });
    }
  }, 30_000);

  it('a FIFO, a device or a file over the cap is refused before it is read, naming the file', async () => {
    const pipe = fifo(join(t.dir, 'pipe.json'));
    const p = await cli(['mixup', 'preview', 'ds', '--config', pipe], 20_000);
    expect(p.code).toBe(2);
    expect(p.stderr.trim()).toBe(`mixup-studio: config ${pipe} is a FIFO (named pipe), not a regular file`);
    const z = await cli(['mixup', 'preview', 'ds', '--config', '/dev/zero'], 20_000);
    expect(z.code).toBe(2);
    expect(z.stderr.trim()).toBe('mixup-studio: config /dev/zero is a character device, not a regular file');
    const big = file('big.json', `{}${' '.repeat(5 * 1024 * 1024)}`);
    const b = await cli(['train', 'ds', '--config', big]);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toBe(`mixup-studio: config ${big} is 5.0 MiB, over the 4 MiB limit for a config`);
  }, 60_000);
});

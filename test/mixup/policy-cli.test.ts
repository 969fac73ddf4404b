import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

const SAMPLE = join(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');

describe('policy and preview CLI on the indexed sample dataset', () => {
  const t = tempDir('mixup-policy-cli-');
  const home = join(t.dir, 'home');
  const cli = (...args: string[]) => runCli(args, { home });

  beforeAll(async () => {
    const r = await cli('index', SAMPLE, '--name', 'fm', '--json');
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('forbids, weights, lists, exports, allows and re-imports pairs (unordered, by class name)', async () => {
    expect((await cli('policy', 'forbid', 'fm', 'shirt', 'coat', '--note', 'both upper-body garments')).code).toBe(0);
    expect((await cli('policy', 'weight', 'fm', 'sandal', 'sneaker', '0.5')).code).toBe(0);
    expect((await cli('policy', 'forbid', 'fm', 'bag', 'bag')).code).toBe(0);
    const listed = (await cli('policy', 'list', 'fm', '--json')).json();
    expect(listed.map((p: any) => [p.a, p.b, p.weight, p.note])).toEqual([
      ['bag', 'bag', 0, null],
      ['coat', 'shirt', 0, 'both upper-body garments'],
      ['sandal', 'sneaker', 0.5, null],
    ]);
    for (const p of listed) expect(typeof p.updatedAt).toBe('string');

    const file = join(t.dir, 'policy.json');
    expect((await cli('policy', 'export', 'fm', file)).code).toBe(0);
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    expect(exported.pairs).toHaveLength(3);

    expect((await cli('policy', 'allow', 'fm', 'coat', 'shirt')).code).toBe(0);
    expect((await cli('policy', 'list', 'fm', '--json')).json()).toHaveLength(2);

    const imported = await cli('policy', 'import', 'fm', file, '--json');
    expect(imported.code, imported.stderr).toBe(0);
    expect((await cli('policy', 'list', 'fm', '--json')).json().map((p: any) => [p.a, p.b, p.weight])).toEqual(
      listed.map((p: any) => [p.a, p.b, p.weight]),
    );
  });

  it('rejects unknown classes and bad weights with a message naming them, and a bad import changes nothing', async () => {
    const before = (await cli('policy', 'list', 'fm', '--json')).stdout;
    const unknown = await cli('policy', 'forbid', 'fm', 'shirt', 'zebra');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/class 'zebra' is not in dataset 'fm'/);
    const badWeight = await cli('policy', 'weight', 'fm', 'shirt', 'coat', '1.5');
    expect(badWeight.code).not.toBe(0);
    expect(badWeight.stderr).toMatch(/weight: must be ≤ 1/);

    const bad = join(t.dir, 'bad-policy.json');
    writeFileSync(bad, JSON.stringify({ pairs: [{ a: 'trouser', b: 'dress', weight: 0 }, { a: 'unicorn', b: 'bag', weight: 0 }] }));
    const r = await cli('policy', 'import', 'fm', bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/pairs\[1\]\.a: unknown class 'unicorn'/);
    expect((await cli('policy', 'list', 'fm', '--json')).stdout).toBe(before);
  });

  it('previews the configured epochs byte-identically for a seed, never shows a forbidden pair, and stops at offEpoch', async () => {
    const config = join(t.dir, 'preview.json');
    writeFileSync(
      config,
      JSON.stringify({ seed: 5, epochs: 3, batchSize: 33, mixup: { alpha: 0.4, cutmixAlpha: 1, mode: 'elem', offEpoch: 2 } }),
    );
    const a = await cli('mixup', 'preview', 'fm', '--config', config, '--json');
    expect(a.code, a.stderr).toBe(0);
    const b = await cli('mixup', 'preview', 'fm', '--config', config, '--json');
    expect(b.stdout).toBe(a.stdout);
    const doc = a.json();
    expect(doc.inputSize).toEqual([28, 28]); // the sample's common size
    expect(doc.epochs.map((e: any) => e.active)).toEqual([true, true, false]);
    for (const e of doc.epochs.slice(0, 2)) {
      expect(e.mixedSamples + e.unmixedSamples.policy + e.unmixedSamples.prob + e.unmixedSamples.alone).toBe(doc.trainImages);
      expect(e.lambdas).toHaveLength(e.mixedSamples);
      for (const p of e.pairs) {
        expect([p.a, p.b]).not.toEqual(['bag', 'bag']);
        expect([p.a, p.b]).not.toEqual(['coat', 'shirt']);
      }
      expect(e.pairs.some((p: any) => p.a === p.b)).toBe(true);
    }
    expect(doc.epochs[2].unmixedSamples.schedule).toBe(doc.trainImages);

    const bad = join(t.dir, 'bad-config.json');
    writeFileSync(bad, JSON.stringify({ mixup: { alpha: -0.5, modes: 'elem' } }));
    const r = await cli('mixup', 'preview', 'fm', '--config', bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/mixup\.alpha: must be ≥ 0/);
    expect(r.stderr).toMatch(/mixup\.modes: unknown key/);
  });

  it('prints the run config JSON Schema', async () => {
    const r = await cli('config', 'schema');
    expect(r.code).toBe(0);
    const s = r.json();
    expect(s.properties.mixup.properties.offEpoch).toBeDefined();
    expect(s.additionalProperties).toBe(false);
  });
});

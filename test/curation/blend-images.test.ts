/**
 * Intrusion for runs that mix the images themselves (`curate --intrusion images`): the blends are the images
 * mixed pixel by pixel, then embedded by the backbone — checked against the test backbone's features of the
 * same blend computed by hand (relu(W·x + b) averaged, which is not the blend of the two embeddings) — and a
 * pass records that mode with an intrusion measured for its pairs.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { embedBlendedImages } from '../../src-main/backbones/embed';
import { expectedFeature, writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir, tempServices } from '../helpers/temp';
import { SAMPLE, call } from '../training/fixture';

const services = tempServices();
const tmp = tempDir('mixup-blend-');
afterAll(() => {
  services.cleanup();
  tmp.cleanup();
});

describe('intrusion on blended images', () => {
  it('embeds the pixel blend itself, not the blend of the two embeddings', async () => {
    const net = writeTestBackbone(join(tmp.dir, 'net.onnx'), { channels: 1, size: [28, 28], dim: 6 });
    await call(services, 'backbones:import', { path: join(tmp.dir, 'net.onnx'), name: 'net', mean: [0], std: [1], resize: 'fill' });
    const a = join(SAMPLE, 'bag', readdirSync(join(SAMPLE, 'bag')).sort()[0]!);
    const b = join(SAMPLE, 'sandal', readdirSync(join(SAMPLE, 'sandal')).sort()[0]!);
    const lam = 0.3;
    const got = await embedBlendedImages(services, 'net', [[a, b, lam]]);
    const pa = await sharp(a).greyscale().raw().toBuffer();
    const pb = await sharp(b).greyscale().raw().toBuffer();
    const mixed = Float32Array.from(pa, (v, i) => Math.round(lam * v + (1 - lam) * pb[i]!) / 255);
    const want = expectedFeature(net, mixed);
    for (let k = 0; k < 6; k++) expect(got[k]).toBeCloseTo(want[k]!, 4);
    const ea = expectedFeature(net, Float32Array.from(pa, (v) => v / 255));
    const eb = expectedFeature(net, Float32Array.from(pb, (v) => v / 255));
    const blendOfEmbeddings = ea.map((v, k) => lam * v + (1 - lam) * eb[k]!);
    expect(Math.max(...blendOfEmbeddings.map((v, k) => Math.abs(v - want[k]!)))).toBeGreaterThan(1e-3);
  });

  it('a pass with --intrusion images records the mode and measures its pairs', async () => {
    const root = join(tmp.dir, 'd');
    for (const c of ['bag', 'coat', 'sandal']) {
      mkdirSync(join(root, c), { recursive: true });
      for (const f of readdirSync(join(SAMPLE, c)).sort().slice(0, 15)) copyFileSync(join(SAMPLE, c, f), join(root, c, f));
    }
    await call(services, 'datasets:index', { root, name: 'd' });
    const r = await call(services, 'curation:run', { dataset: 'd', backbone: 'net', intrusion: 'images', alpha: 1, map: 'none' });
    expect(r.params.intrusion).toBe('images');
    expect(r.pairs.every((p: any) => p.intrusion !== null)).toBe(true);
  }, 60_000);
});

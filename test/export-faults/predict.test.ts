/**
 * `predict` on tampered or damaged export folders (issue #11, items 14 and 15): weight paths that leave the
 * folder, truncated weights, a model.json that is not a model, and config.json/labels.json shapes that
 * disagree with the model. Each folder is a real export layout: a real cnn-small saved with saveModel, real
 * labels.json and config.json, real PNGs of the bundled Fashion-MNIST sample.
 */
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/core/errors';
import { predictImages } from '../../src-main/export/predict';
import { loadModel, saveModel } from '../../src-main/training/checkpoint';
import { buildModel } from '../../src-main/training/models';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

const SAMPLE = resolve(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');
const LABELS = ['bag', 'sandal', 'trouser'];
const PREPROCESSING = { inputSize: [8, 8], channels: 1, scale: 1 / 255, mean: [0.3], std: [0.3], resize: 'fill', onnxLayout: 'NHWC' };

let tmp: ReturnType<typeof tempDir>;
let pristine: string;
let image: string;
let notAnImage: string;
let n = 0;

/** A fresh copy of the pristine export folder, to tamper with. */
function exportCopy(): string {
  const dir = join(tmp.dir, `export-${++n}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function editJson(file: string, edit: (j: any) => void): void {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  edit(j);
  writeFileSync(file, JSON.stringify(j));
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected a refusal').toBeInstanceOf(AppError);
  return err as AppError;
}

beforeAll(async () => {
  tmp = tempDir('mixup-predict-faults-');
  pristine = join(tmp.dir, 'pristine');
  await saveModel(buildModel({ arch: 'cnn-small', inputSize: [8, 8], channels: 1, numClasses: 3 }, 7), join(pristine, 'tfjs'));
  writeFileSync(join(pristine, 'labels.json'), JSON.stringify(LABELS));
  writeFileSync(join(pristine, 'config.json'), JSON.stringify({ seed: 7, preprocessing: PREPROCESSING }));
  image = join(tmp.dir, 'bag.png');
  copyFileSync(join(SAMPLE, 'bag', readdirSync(join(SAMPLE, 'bag')).sort()[0]!), image);
  notAnImage = join(tmp.dir, 'not-an-image.png');
  writeFileSync(notAnImage, 'not a png at all');
}, 60_000);

afterAll(() => tmp?.cleanup());

describe('the pristine folder', () => {
  it('predicts (so every refusal below is caused by the tampering alone)', async () => {
    const r = await predictImages(pristine, [image], { top: 1, backend: 'cpu' });
    expect(r).toEqual([{ image, top: [{ label: expect.any(String), probability: expect.any(Number) }] }]);
  });
});

describe('weightsManifest paths stay inside the model folder', () => {
  it('refuses a ../ path, naming model.json and the entry, even when the file it names is a valid weights file', async () => {
    const dir = exportCopy();
    // The outside file holds exactly the right bytes: only the path check can refuse it.
    copyFileSync(join(dir, 'tfjs', 'weights.bin'), join(tmp.dir, 'outside.bin'));
    editJson(join(dir, 'tfjs', 'model.json'), (j) => (j.weightsManifest[0].paths = [`../../outside.bin`]));
    const err = await refusal(predictImages(dir, [image], { backend: 'cpu' }));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toContain(join(dir, 'tfjs', 'model.json'));
    expect(err.message).toMatch(/weightsManifest\[0\]\.paths\[0\].*outside the model folder/);
  });

  it('refuses an absolute path and never echoes the file it names', async () => {
    const dir = exportCopy();
    const secret = join(tmp.dir, 'secret.txt');
    writeFileSync(secret, 'root:SECRET-CONTENTS:0:0');
    editJson(join(dir, 'tfjs', 'model.json'), (j) => (j.weightsManifest[0].paths = [secret]));
    const err = await refusal(loadModel(join(dir, 'tfjs')));
    expect(err.message).toMatch(/weightsManifest\[0\]\.paths\[0\].*absolute/);
    expect(err.message).not.toContain('SECRET-CONTENTS');
  });

  it('refuses a weights file that is a symlink leading out of the folder', async () => {
    const dir = exportCopy();
    copyFileSync(join(dir, 'tfjs', 'weights.bin'), join(tmp.dir, 'linked.bin'));
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'tfjs', 'weights.bin'));
    symlinkSync(join(tmp.dir, 'linked.bin'), join(dir, 'tfjs', 'weights.bin'));
    const err = await refusal(predictImages(dir, [image], { backend: 'cpu' }));
    expect(err.message).toMatch(/weightsManifest\[0\]\.paths\[0\].*outside the model folder/);
  });
});

describe('damaged model files get a message a user can act on', () => {
  it('a truncated weights.bin names the file, its size and the size the manifest needs', async () => {
    const dir = exportCopy();
    const weights = join(dir, 'tfjs', 'weights.bin');
    const needed = statSync(weights).size;
    truncateSync(weights, 1000);
    const err = await refusal(predictImages(dir, [image], { backend: 'cpu' }));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toBe(`${weights} is truncated (1000 bytes, the manifest needs ${needed}); re-export the run`);
  });

  it('a model.json that is not JSON, or JSON that is not a model, is "not a model file" without quoting it', async () => {
    for (const text of ['SECRET-TOKEN-1234 {{{', 'null', '{"modelTopology": {}, "weightsManifest": "SECRET-TOKEN-1234"}', '[1,2,3]']) {
      const dir = exportCopy();
      const file = join(dir, 'tfjs', 'model.json');
      writeFileSync(file, text);
      const err = await refusal(predictImages(dir, [image], { backend: 'cpu' }));
      expect(err.kind, text).toBe('corrupt');
      expect(err.message, text).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a model file: .*re-export the run`));
      expect(err.message, text).not.toContain('SECRET');
    }
  });

  it('a topology tfjs cannot build is "not a model file", not a tfjs internal message', async () => {
    const dir = exportCopy();
    const file = join(dir, 'tfjs', 'model.json');
    editJson(file, (j) => (j.modelTopology = { class_name: 'NoSuchLayerKind', config: { name: 'SECRET-NAME' } }));
    const err = await refusal(predictImages(dir, [image], { backend: 'cpu' }));
    expect(err.message).toMatch(/model\.json is not a model file: .*re-export the run/);
    expect(err.message).not.toContain('SECRET');
  });

  it('a layer size tampered to 100,000,000 filters is refused from the manifest at once, before tfjs allocates it (found by review: 53 s, 7.9 GB)', async () => {
    for (const [field, value] of [
      ['filters', 100_000_000],
      ['kernel_size', [99, 99]],
      ['units', 1e9],
    ] as const) {
      const dir = exportCopy();
      const file = join(dir, 'tfjs', 'model.json');
      editJson(file, (j) => {
        const layer = j.modelTopology.config.layers.find((l: any) => l.config[field] !== undefined);
        layer.config[field] = value;
      });
      const t0 = Date.now();
      const err = await refusal(predictImages(dir, [image], { backend: 'cpu' }));
      expect(err.message).toMatch(new RegExp(`model\\.json is not a model file: layer \\w+ declares ${field}.*its kernel in the manifest has shape`));
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  });
});

describe('config.json and labels.json are checked against the model before any image is decoded', () => {
  it('a tampered preprocessing.inputSize of 100000×100000 is refused at once, before the (bad) image is read', async () => {
    const dir = exportCopy();
    editJson(join(dir, 'config.json'), (j) => (j.preprocessing.inputSize = [100000, 100000]));
    const err = await refusal(predictImages(dir, [notAnImage], { backend: 'cpu' }));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toMatch(/config\.json: preprocessing\.inputSize/);
    expect(err.message).not.toMatch(/cannot be read as an image/);
  });

  it('an in-range inputSize or channel count that differs from the model input is refused before decoding', async () => {
    for (const edit of [(p: any) => (p.inputSize = [16, 16]), (p: any) => ((p.channels = 3), (p.mean = [0, 0, 0]), (p.std = [1, 1, 1]))]) {
      const dir = exportCopy();
      editJson(join(dir, 'config.json'), (j) => edit(j.preprocessing));
      const err = await refusal(predictImages(dir, [notAnImage], { backend: 'cpu' }));
      expect(err.message).toMatch(/the model takes \[8, 8, 1\] inputs but config\.json's preprocessing says/);
    }
  });

  it('labels.json naming more classes than the model outputs is refused before decoding', async () => {
    const dir = exportCopy();
    writeFileSync(join(dir, 'labels.json'), JSON.stringify([...LABELS, 'extra']));
    const err = await refusal(predictImages(dir, [notAnImage], { backend: 'cpu' }));
    expect(err.message).toMatch(/the model outputs 3 classes but labels\.json names 4/);
  });
});

describe('from the command line', () => {
  it('predict on a truncated weights.bin exits 1 with one line naming the file, no tfjs internals', async () => {
    const dir = exportCopy();
    const weights = join(dir, 'tfjs', 'weights.bin');
    truncateSync(weights, 64);
    const home = join(tmp.dir, 'home');
    mkdirSync(home, { recursive: true });
    const r = await runCli(['predict', dir, image, '--backend', 'cpu'], { home });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^mixup-studio: .*weights\.bin is truncated \(64 bytes, the manifest needs \d+\); re-export the run$/)]);
  }, 60_000);
});

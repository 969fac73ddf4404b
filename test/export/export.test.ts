/**
 * Export, predict, compare and dataset export on real runs: a tiny Fashion-MNIST dataset (8×8 grey, three
 * classes) trained for real (two short runs with different MixUp settings) in a temp home.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { fileListHash, fingerprintWarning, splitExportedConfig } from '../../src-main/config/export-file';
import { preprocessImage } from '../../src-main/export/predict';
import type { CompareDoc } from '../../src-main/export/compare';
import type { ExportResult } from '../../src-main/export/export-run';
import { listUsableImages } from '../../src-main/datasets/repository';
import { loadModel } from '../../src-main/training/checkpoint';
import { getRun } from '../../src-main/training/runs-repository';
import { runCli } from '../helpers/cli';
import { tempDir, tempServices, testContext } from '../helpers/temp';

const SAMPLE = resolve(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');
const CLASSES = ['bag', 'sandal', 'trouser'];
const BASE_CONFIG = { seed: 3, epochs: 2, batchSize: 8, model: { arch: 'cnn-small', inputSize: [8, 8], channels: 1 }, mixup: { alpha: 0.4 } };

let services: ReturnType<typeof tempServices>;
let tmp: ReturnType<typeof tempDir>;
let runA: number;
let runB: number;
let exportA: ExportResult;

function op<T>(name: string, input: unknown): Promise<T> {
  return invokeOperation(operations, name, input, testContext(services).ctx) as Promise<T>;
}

function copySample(dir: string, perClass: number, skip = 0): string[] {
  const files: string[] = [];
  for (const c of CLASSES) {
    mkdirSync(join(dir, c), { recursive: true });
    for (const f of readdirSync(join(SAMPLE, c)).sort().slice(skip, skip + perClass)) {
      copyFileSync(join(SAMPLE, c, f), join(dir, c, f));
      files.push(join(dir, c, f));
    }
  }
  return files;
}

beforeAll(async () => {
  services = tempServices();
  tmp = tempDir('mixup-export-');
  copySample(join(tmp.dir, 'tiny'), 8);
  await op('datasets:index', { root: join(tmp.dir, 'tiny'), name: 'tiny', valFraction: 0.25, seed: 1 });
  const a = await op<{ run: { id: number } }>('runs:train', { dataset: 'tiny', config: BASE_CONFIG });
  const b = await op<{ run: { id: number } }>('runs:train', { dataset: 'tiny', config: { ...BASE_CONFIG, epochs: 1, mixup: { alpha: 0 } } });
  runA = a.run.id;
  runB = b.run.id;
  exportA = await op<ExportResult>('runs:export', { run: runA, out: join(tmp.dir, 'export-a') });
  await tf.setBackend('cpu');
}, 120_000);

afterAll(() => {
  services?.cleanup();
  tmp?.cleanup();
});

/** Real images of the tiny dataset, preprocessed with the export's recorded preprocessing. */
async function exportedInputs(dir: string): Promise<{ files: string[]; x: tf.Tensor4D }> {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const files = CLASSES.map((c) => join(tmp.dir, 'tiny', c, readdirSync(join(tmp.dir, 'tiny', c)).sort()[0]!));
  const rows = await Promise.all(files.map((f) => preprocessImage(f, cfg.preprocessing)));
  const [h, w] = cfg.preprocessing.inputSize;
  const x = new Float32Array(rows.length * h * w);
  rows.forEach((r, i) => x.set(r, i * h * w));
  return { files, x: tf.tensor4d(x, [rows.length, h, w, 1]) };
}

describe('runs:export', () => {
  it('writes the CLI.md layout: tfjs/, model.onnx, labels.json, config.json (run config + preprocessing + provenance), report.html', () => {
    const dir = exportA.out;
    expect(exportA.files.map((f) => f.path)).toEqual(['config.json', 'labels.json', 'model.onnx', 'report.html', 'tfjs/model.json', 'tfjs/weights.bin']);
    const run = getRun(services.db, runA);
    expect(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'))).toEqual(run.classes);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg.seed).toBe(3);
    expect(cfg.mixup.alpha).toBe(0.4);
    expect(cfg.policy).toEqual({ pairs: [] });
    expect(cfg.dataset.fingerprint).toBe(run.datasetFingerprint);
    expect(cfg.preprocessing).toMatchObject({ inputSize: [8, 8], channels: 1, scale: 1 / 255, resize: 'fill', onnxLayout: 'NHWC' });
    expect(cfg.preprocessing.mean).toEqual(run.preprocessing!.mean);
    expect(cfg.provenance).toMatchObject({ run: runA, datasetFingerprint: run.datasetFingerprint, labels: run.classes, backend: run.backend });
    expect(cfg.provenance.fileListHash).toBe(fileListHash(listUsableImages(services.db, run.datasetId!)));
  });

  it('tfjs/model.json loads with tf.loadLayersModel over HTTP (as a browser does) and predicts exactly what the app model predicts', async () => {
    const dir = exportA.out;
    const server: Server = createServer((req, res) => {
      const file = join(dir, 'tfjs', decodeURIComponent(new URL(req.url!, 'http://x').pathname));
      if (!existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const exported = await tf.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
      const app = await loadModel(getRun(services.db, runA).modelDir!);
      const { x } = await exportedInputs(dir);
      const p1 = (exported.predict(x) as tf.Tensor).dataSync();
      const p2 = (app.predict(x) as tf.Tensor).dataSync();
      expect(Array.from(p1)).toEqual(Array.from(p2));
      const firstRow = Array.from(p1.slice(0, 3));
      expect(firstRow.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    } finally {
      server.close();
    }
  });

  it('model.onnx gives the tfjs probabilities in onnxruntime (max abs diff ≤ 1e-4)', async () => {
    const dir = exportA.out;
    const app = await loadModel(join(dir, 'tfjs'));
    const { x } = await exportedInputs(dir);
    const ref = (app.predict(x) as tf.Tensor).dataSync();
    const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')));
    expect(session.inputNames).toEqual(['input']);
    const out = await session.run({ input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
    const got = out.probabilities!.data as Float32Array;
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i]! - got[i]!));
    expect(max).toBeLessThanOrEqual(1e-4);
  });

  it('report.html is self-contained (no script, no external fetch) and shows curves, confusion matrix, audit and metrics', () => {
    const html = readFileSync(join(exportA.out, 'report.html'), 'utf8');
    expect(html).toContain("Content-Security-Policy");
    expect(html).not.toMatch(/<script|<link|\bsrc=|\bhref=|url\(|@import/i);
    expect(html.match(/https?:\/\/[^"\s]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg') ?? true).toBe(true);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(html).toContain('class="confusion"');
    for (const c of CLASSES) expect(html).toContain(c);
    expect(html).toContain('MixUp audit');
    expect(html).toMatch(/most mixed pairs/);
    const run = getRun(services.db, runA);
    expect(html).toContain(run.metrics.valAccuracy!.toFixed(4));
  });

  it('writes only the formats asked for', async () => {
    const r = await op<ExportResult>('runs:export', { run: runA, out: join(tmp.dir, 'onnx-only'), formats: ['onnx'] });
    expect(r.files.map((f) => f.path)).toEqual(['config.json', 'labels.json', 'model.onnx', 'report.html']);
  });

  it('refuses a non-empty or file DIR and an unknown run, naming them, and leaves nothing behind', async () => {
    const busy = join(tmp.dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'x');
    await expect(op('runs:export', { run: runA, out: busy })).rejects.toThrow(new RegExp(`${busy}: folder is not empty`));
    expect(readdirSync(busy)).toEqual(['keep.txt']);
    await expect(op('runs:export', { run: runA, out: join(busy, 'keep.txt') })).rejects.toThrow(/keep\.txt: exists and is not a folder/);
    await expect(op('runs:export', { run: 999, out: join(tmp.dir, 'never') })).rejects.toThrow(/run 999 does not exist/);
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
    expect(readdirSync(tmp.dir).filter((n) => n.includes('.partial-'))).toEqual([]);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    const ok = await op<ExportResult>('runs:export', { run: runB, out: empty, formats: ['tfjs'] });
    expect(ok.files.map((f) => f.path)).toContain('tfjs/model.json');
  });
});

describe('reproduce from an exported config', () => {
  it('training again from config.json (its run-config part) gives identical per-epoch metrics', async () => {
    const raw = JSON.parse(readFileSync(join(exportA.out, 'config.json'), 'utf8'));
    const { config, preprocessing, provenance } = splitExportedConfig(raw);
    expect(preprocessing?.onnxLayout).toBe('NHWC');
    expect(provenance?.run).toBe(runA);
    expect(Object.keys(config as object)).not.toContain('preprocessing');
    // The whole file, as `train tiny --config DIR/config.json` passes it: reserved sections are set aside.
    const t = testContext(services);
    const again = (await invokeOperation(operations, 'runs:train', { dataset: 'tiny', config: raw, configSource: 'config.json' }, t.ctx)) as {
      run: { id: number };
      epochs: unknown[];
    };
    expect(t.events.filter((e) => e.topic === 'train.warning')).toEqual([]);
    const strip = (epochs: { epoch: number; trainLoss: number; valLoss: number | null; valAccuracy: number | null; ece: number | null }[]) =>
      epochs.map(({ epoch, trainLoss, valLoss, valAccuracy, ece }) => ({ epoch, trainLoss, valLoss, valAccuracy, ece }));
    const first = getRun(services.db, runA);
    const second = getRun(services.db, again.run.id);
    expect(second.epochs).toHaveLength(2);
    expect(strip(second.epochs)).toEqual(strip(first.epochs));
    expect(second.config).toEqual(first.config);
  });

  it('says when the dataset differs from the one the config was exported from', async () => {
    const raw = JSON.parse(readFileSync(join(exportA.out, 'config.json'), 'utf8'));
    const fp = raw.dataset.fingerprint as string;
    expect(fingerprintWarning(raw, { name: 'tiny', fingerprint: fp })).toBeNull();
    expect(fingerprintWarning(raw, { name: 'tiny', fingerprint: 'f'.repeat(64) }, 'config.json')).toMatch(/dataset 'tiny' differs from the one config\.json was exported from/);
    // Through training itself: a one-epoch run from a config whose fingerprint is not the dataset's warns first.
    const t = testContext(services);
    const drifted = { ...raw, epochs: 1, dataset: { ...raw.dataset, fingerprint: 'f'.repeat(64) } };
    await invokeOperation(operations, 'runs:train', { dataset: 'tiny', config: drifted, configSource: 'config.json' }, t.ctx);
    const warnings = t.events.filter((e) => e.topic === 'train.warning').map((e) => (e.data as { message: string }).message);
    expect(warnings.some((m) => /dataset 'tiny' differs from the one config\.json was exported from/.test(m))).toBe(true);
  });
});

describe('models:predict', () => {
  it('classifies real images with the exported folder alone: top-K sorted, the model probabilities, labels from labels.json', async () => {
    const dir = exportA.out;
    const { files, x } = await exportedInputs(dir);
    const probs = ((await loadModel(join(dir, 'tfjs'))).predict(x) as tf.Tensor).arraySync() as number[][];
    const labels = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as string[];
    const res = await op<{ image: string; top: { label: string; probability: number }[] }[]>('models:predict', { modelDir: dir, images: files, top: 2 });
    expect(res.map((r) => r.image)).toEqual(files);
    res.forEach((r, i) => {
      expect(r.top).toHaveLength(2);
      expect(r.top[0]!.probability).toBeGreaterThanOrEqual(r.top[1]!.probability);
      const best = probs[i]!.indexOf(Math.max(...probs[i]!));
      expect(r.top[0]!.label).toBe(labels[best]);
      expect(r.top[0]!.probability).toBeCloseTo(probs[i]![best]!, 5);
    });
  });

  it('names the image that cannot be read, and a folder that is not an export', async () => {
    const bad = join(tmp.dir, 'not-an-image.png');
    writeFileSync(bad, 'hello');
    const good = join(tmp.dir, 'tiny', 'bag', readdirSync(join(tmp.dir, 'tiny', 'bag'))[0]!);
    await expect(op('models:predict', { modelDir: exportA.out, images: [good, bad] })).rejects.toThrow(/IMAGE .*not-an-image\.png: cannot be read/);
    await expect(op('models:predict', { modelDir: exportA.out, images: [join(tmp.dir, 'missing.png')] })).rejects.toThrow(/missing\.png: no such file/);
    await expect(op('models:predict', { modelDir: tmp.dir, images: [good] })).rejects.toThrow(/labels\.json: missing/);
  });
});

describe('runs:compare', () => {
  it('diffs only the config keys that differ (dotted), puts metrics side by side and aligns curves by epoch', async () => {
    const r = await op<CompareDoc>('runs:compare', { runs: [runA, runB] });
    const a = getRun(services.db, runA);
    const b = getRun(services.db, runB);
    expect(r.runs.map((x) => x.id)).toEqual([runA, runB]);
    expect(r.configDiff).toEqual([
      { key: 'epochs', values: [2, 1] },
      { key: 'mixup.alpha', values: [0.4, 0] },
    ]);
    expect(r.metrics[0]!.final.valAccuracy).toBe(a.metrics.valAccuracy);
    expect(r.metrics[1]!.final.valLoss).toBe(b.metrics.valLoss);
    expect(r.metrics[0]!.best.valAccuracy).toBe(Math.max(...a.epochs.map((e) => e.valAccuracy!)));
    expect(r.curves.map((c) => c.epoch)).toEqual([0, 1]);
    expect(r.curves[0]!.trainLoss).toEqual([a.epochs[0]!.trainLoss, b.epochs[0]!.trainLoss]);
    expect(r.curves[1]!.valAccuracy).toEqual([a.epochs[1]!.valAccuracy, null]); // run B stopped after epoch 0
    expect(r.perClass.map((p) => p.class)).toEqual(a.classes);
    for (const p of r.perClass) {
      expect(p.accuracy).toEqual([a.perClassAccuracy[p.class], b.perClassAccuracy[p.class]]);
      expect(p.deltaVsFirst[1]).toBeCloseTo((p.accuracy[1] as number) - (p.accuracy[0] as number), 12);
    }
  });

  it('needs two distinct existing runs', async () => {
    await expect(op('runs:compare', { runs: [runA] })).rejects.toThrow(/at least two runs/);
    await expect(op('runs:compare', { runs: [runA, runA] })).rejects.toThrow(/named twice/);
    await expect(op('runs:compare', { runs: [runA, 424242] })).rejects.toThrow(/run 424242 does not exist/);
  });
});

/** RFC 4180 parser (quotes, doubled quotes, CRLF) for checking the manifest. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

describe('datasets:export', () => {
  it('writes manifest.csv (quoted, unicode, excluded reasons) and policy.json that policy import reads', async () => {
    const root = join(tmp.dir, 'curated');
    copySample(root, 3, 20);
    const odd = join('bag', 'sac "à main", n°1.png');
    copyFileSync(join(SAMPLE, 'bag', readdirSync(join(SAMPLE, 'bag')).sort()[30]!), join(root, odd));
    writeFileSync(join(root, 'sandal', 'broken.png'), 'not a png');
    await op('datasets:index', { root, name: 'curated', valFraction: 0.3, seed: 2 });
    await op('datasets:exclude', { dataset: 'curated', paths: [odd], reason: 'blurry, "maybe" a wallet' });
    await op('policy:forbid', { dataset: 'curated', a: 'bag', b: 'trouser', note: 'meaningless blend' });
    const out = join(tmp.dir, 'curated-export');
    const r = await op<{ images: number; usable: number; excluded: number; corrupt: number }>('datasets:export', { dataset: 'curated', out });
    const rows = parseCsv(readFileSync(join(out, 'manifest.csv'), 'utf8'));
    expect(rows[0]).toEqual(['path', 'label', 'split', 'excluded_reason']);
    const body = rows.slice(1);
    expect(body).toHaveLength(r.images);
    expect(body.find((x) => x[0] === odd)).toEqual([odd, 'bag', expect.stringMatching(/^(train|val|test)$/), 'blurry, "maybe" a wallet']);
    const usable = listUsableImages(services.db, 2);
    expect(body.filter((x) => x[3] === '').map((x) => x[0])).toEqual(usable.map((u) => u.relPath));
    expect(r.excluded).toBe(1);
    expect(body.find((x) => x[0] === 'sandal/broken.png')?.[3]).toMatch(/^corrupt: not an image/);
    expect(r.corrupt).toBe(1);
    const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
    expect(policy).toMatchObject({ format: 'mixup-studio.pair-policy', version: 1, dataset: 'curated', classes: CLASSES });
    expect(policy.pairs).toEqual([{ a: 'bag', b: 'trouser', weight: 0, note: 'meaningless blend' }]);
    await op('policy:allow', { dataset: 'curated', a: 'bag', b: 'trouser' });
    await op('policy:import', { dataset: 'curated', file: join(out, 'policy.json') });
    expect((await op<{ a: string }[]>('policy:list', { dataset: 'curated' })).map((p) => p.a)).toEqual(['bag']);
    await expect(op('datasets:export', { dataset: 'curated', out })).rejects.toThrow(/folder is not empty/);
    await expect(op('datasets:export', { dataset: 'nope', out: join(tmp.dir, 'x') })).rejects.toThrow(/nope/);
  });
});

describe('the CLI words', () => {
  it('export/compare/predict/dataset export work from the command line with --json', async () => {
    const home = services.home;
    const out = join(tmp.dir, 'cli-export');
    mkdirSync(join(tmp.dir, 'cli-busy'));
    writeFileSync(join(tmp.dir, 'cli-busy', 'x'), '');
    const img = join(tmp.dir, 'tiny', 'trouser', readdirSync(join(tmp.dir, 'tiny', 'trouser'))[0]!);
    // Independent processes: run them side by side.
    const [e, bad, c, p] = await Promise.all([
      runCli(['--json', 'export', String(runB), '--out', out, '--format', 'onnx'], { home }),
      runCli(['export', String(runB), '--out', join(tmp.dir, 'cli-busy')], { home }),
      runCli(['--json', 'compare', String(runA), String(runB)], { home }),
      runCli(['--json', 'predict', exportA.out, img, '--top', '1'], { home }),
    ]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.json().files.map((f: { path: string }) => f.path)).toEqual(['config.json', 'labels.json', 'model.onnx', 'report.html']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(/^mixup-studio: --out .*cli-busy: folder is not empty/);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json().configDiff.map((d: { key: string }) => d.key)).toEqual(['epochs', 'mixup.alpha']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json()).toEqual([{ image: img, top: [{ label: expect.any(String), probability: expect.any(Number) }] }]);
  }, 60_000);
});

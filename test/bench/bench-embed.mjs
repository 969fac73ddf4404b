#!/usr/bin/env node
/**
 * `npm run bench:embed` — pretrained backbones (issue 13), each figure with its reference from the same run:
 *  1. decode + preprocess + embed a folder of JPEG photos (320×240, centre-cropped to 224) with MobileNetV2 and
 *     ResNet-50 (torchvision, random weights, classifier removed, exported to ONNX), MixUp Studio's `embeddings`
 *     (sharp + onnxruntime-node, every core) against PyTorch on the CPU (PIL + the same network, same threads);
 *     target ≥ 1.0×;
 *  2. onnxruntime-node alone, batch 1, one thread: ms per image of each network;
 *  3. a head trained on 10,000 cached 1,280-d embeddings for 30 epochs (wasm): seconds, and the peak RSS against
 *     the size of the embeddings (they are read from the store per batch, never all held).
 * Needs Debian's python3-torch and python3-torchvision (`bash scripts/install-system-deps.sh` installs both);
 * without them part 1 reports what failed.
 *
 * Options: --images N (256) --batch N (32) --head-images N (10000) --epochs N (30) --json
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { flag, log, opt } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const python = process.env.MIXUP_STUDIO_PYTHON || '/usr/bin/python3';
const cores = os.availableParallelism?.() ?? os.cpus().length;
const images = Number(opt('images', 256));
const batch = Number(opt('batch', 32));
const headImages = Number(opt('head-images', 10000));
const epochs = Number(opt('epochs', 30));
const json = flag('json');
const work = path.join(os.tmpdir(), 'mixup-bench-embed');
const photos = path.join(work, `photos-${images}`);

function lastJson(out) {
  for (const l of String(out).trim().split('\n').reverse()) if (l.startsWith('{')) return JSON.parse(l);
  return undefined;
}

function app(job) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'bench-embed-run.ts'), JSON.stringify(job)], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  return lastJson(r.stdout) ?? { error: (r.stderr || 'no output').trim().split('\n').slice(-3).join(' ') };
}

function torch(args) {
  const r = spawnSync(python, [path.join(here, 'bench_embed_torch.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return lastJson(r.stdout) ?? { error: (r.stderr || r.error?.message || 'no output').trim().split('\n').slice(-1)[0] };
}

/** Photo-like JPEGs: smooth colour fields with noise, two class folders, made once per size. */
async function makePhotos() {
  if (existsSync(photos) && readdirSync(photos).length === 2) return;
  for (let k = 0; k < images; k++) {
    const dir = path.join(photos, k % 2 ? 'b' : 'a');
    mkdirSync(dir, { recursive: true });
    const noise = await sharp({ create: { width: 320, height: 240, channels: 3, noise: { type: 'gaussian', mean: 110 + (k % 7) * 10, sigma: 40 } } }).raw().toBuffer();
    for (let i = 0; i < noise.length; i += 3) {
      const x = (i / 3) % 320;
      noise[i] = (noise[i] + x * (k % 5)) & 255;
    }
    await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } }).blur(1.5).jpeg({ quality: 85 }).toFile(path.join(dir, `p${k}.jpg`));
  }
}

mkdirSync(work, { recursive: true });
log(`making ${images} JPEG photos (320×240)…`);
await makePhotos();
const archs = [
  { arch: 'mobilenet_v2', label: 'MobileNetV2' },
  { arch: 'resnet50', label: 'ResNet-50' },
];
const rows = [];
for (const a of archs) {
  const file = path.join(work, `${a.arch}.onnx`);
  if (!existsSync(file)) {
    log(`exporting ${a.label} (torchvision, random weights) to ONNX…`);
    const e = torch(['export', '--arch', a.arch, '--out', file]);
    if (e.error) {
      rows.push({ ...a, error: `no ONNX model: ${e.error}` });
      continue;
    }
  }
  log(`${a.label}: onnxruntime alone, 1 thread…`);
  const alone = app({ mode: 'ort', model: file, runs: a.arch === 'resnet50' ? 5 : 20 });
  log(`${a.label}: MixUp Studio embeddings of ${images} photos (${cores} threads)…`);
  const mine = app({ mode: 'embed', model: file, folder: photos, batch });
  log(`${a.label}: PyTorch (${cores} threads)…`);
  const ref = torch(['embed', '--arch', a.arch, '--folder', photos, '--batch', String(batch), '--threads', String(cores)]);
  rows.push({ ...a, alone, mine, ref, ratio: mine.imagesPerSecond && ref.imagesPerSecond ? mine.imagesPerSecond / ref.imagesPerSecond : undefined });
}
log(`head on ${headImages} cached 1280-d embeddings, ${epochs} epochs (wasm)…`);
const head = app({ mode: 'head', images: headImages, dim: 1280, epochs });

if (json) {
  process.stdout.write(`${JSON.stringify({ cores, images, batch, loadAverage: os.loadavg()[0], networks: rows, head }, null, 2)}\n`);
} else {
  const f = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
  console.log(`\nembedding ${images} JPEG photos 320×240 → 224×224 centre crop, batch ${batch} — ${cores} cores (${os.cpus()[0]?.model ?? 'cpu'}), load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${'network'.padEnd(14)} ${'MixUp Studio img/s'.padStart(19)} ${'PyTorch img/s'.padStart(14)} ${'ratio'.padStart(7)} ${'(torch decode s)'.padStart(17)} ${'ort alone, 1 thread'.padStart(20)} ${'peak RSS'.padStart(9)}`);
  for (const r of rows) {
    if (r.error) {
      console.log(`${r.label.padEnd(14)} ${r.error}`);
      continue;
    }
    console.log(
      `${r.label.padEnd(14)} ${f(r.mine.imagesPerSecond).padStart(19)} ${f(r.ref.imagesPerSecond).padStart(14)} ${(r.ratio ? `${r.ratio.toFixed(2)}x` : '—').padStart(7)} ${f(r.ref.decodeSeconds, 2).padStart(17)} ${`${f(r.alone.msPerImage)} ms/img`.padStart(20)} ${`${f(r.mine.peakRssMb, 0)} MB`.padStart(9)}${r.mine.error ? `  error: ${r.mine.error}` : ''}${r.ref.error ? `  PyTorch: ${r.ref.error}` : ''}`,
    );
  }
  if (head.error) console.log(`\nhead: error: ${head.error}`);
  else {
    console.log(
      `\nhead (linear, MixUp α 0.2) on ${head.images} cached ${head.dim}-d embeddings, ${head.epochs} epochs, wasm: ${f(head.trainSeconds)} s (epochs ${f(head.epochSeconds)} s; embedding them first ${f(head.embedSeconds)} s); val accuracy ${f(head.valAccuracy, 3)}`,
    );
    console.log(`peak RSS ${f(head.peakRssMb, 0)} MB (${f(head.peakRssMbBeforeTraining, 0)} MB before training) against ${f(head.embeddingMb, 0)} MB of embeddings`);
  }
  console.log('target: embedding ≥ 1.0× PyTorch; the head in seconds, not minutes');
}
process.exit(rows.some((r) => r.mine?.imagesPerSecond) && !head.error ? 0 : 1);

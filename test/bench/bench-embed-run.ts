/**
 * The MixUp Studio side of `npm run bench:embed`, one measurement per process (run by bench-embed.mjs through
 * tsx); prints one JSON line.
 *   {"mode":"embed","model":FILE,"folder":DIR,"batch":N}   index DIR, import FILE, `embeddings` with every core
 *   {"mode":"ort","model":FILE,"size":S}                   onnxruntime alone: ms per image, batch 1, 1 thread
 *   {"mode":"head","images":N,"dim":D,"epochs":E}          a head on N cached D-d embeddings, E epochs (wasm)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import type { Services } from '../../src-main/core/services';
import { openOnnx } from '../../src-main/backbones/onnx-model';
import { prepareNewRun } from '../../src-main/training/prepare-run';
import { getRun } from '../../src-main/training/runs-repository';
import { trainRun } from '../../src-main/training/train-run';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempServices } from '../helpers/temp';

const job = JSON.parse(process.argv[2] ?? '{}');
const call = (services: Services, name: string, input: unknown) =>
  invokeOperation(operations, name, input, { services, signal: new AbortController().signal, emit: () => undefined }) as Promise<any>;
const rssMb = () => process.resourceUsage().maxRSS / 1024;

async function embed(): Promise<object> {
  const services = tempServices();
  try {
    await call(services, 'datasets:index', { root: job.folder, name: 'photos' });
    await call(services, 'backbones:import', { path: job.model, name: 'net' });
    const t0 = performance.now();
    const r = await call(services, 'embeddings:compute', { dataset: 'photos', backbone: 'net', batch: job.batch ?? 32 });
    const s = (performance.now() - t0) / 1000;
    return { images: r.images, computed: r.computed, dim: r.dim, seconds: s, imagesPerSecond: r.computed / s, provider: r.provider, peakRssMb: rssMb() };
  } finally {
    services.cleanup();
  }
}

async function ortAlone(): Promise<object> {
  const ort = await import('onnxruntime-node');
  const { session } = await openOnnx(job.model, job.model, 1);
  const size = job.size ?? 224;
  const x = new ort.Tensor('float32', new Float32Array(3 * size * size).map((_, i) => Math.sin(i)), [1, 3, size, size]);
  const input = session.inputNames[0]!;
  for (let i = 0; i < 3; i++) await session.run({ [input]: x });
  const n = job.runs ?? 20;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await session.run({ [input]: x });
  const ms = (performance.now() - t0) / n;
  await session.release();
  return { msPerImage: ms, imagesPerSecond: 1000 / ms };
}

async function head(): Promise<object> {
  const services = tempServices();
  try {
    const root = join(services.home, 'data');
    const n = job.images ?? 10000;
    const classes = 10;
    // n small distinct images (8×8 grey, class-dependent brightness plus noise), 80% train / 20% val.
    for (let k = 0; k < n; k++) {
      const cls = k % classes;
      const split = Math.floor(k / classes) % 5 === 0 ? 'val' : 'train';
      mkdirSync(join(root, split, `c${cls}`), { recursive: true });
      const px = Buffer.alloc(64);
      for (let i = 0; i < 64; i++) px[i] = (cls * 23 + ((k * 2654435761 + i * 40503) >>> 0) % 40) & 255;
      writeFileSync(join(root, split, `c${cls}`, `${k}.png`), await sharp(px, { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer());
    }
    await call(services, 'datasets:index', { root, name: 'many' });
    const model = join(services.home, 'wide.onnx');
    writeTestBackbone(model, { channels: 1, size: [8, 8], dim: job.dim ?? 1280 });
    await call(services, 'backbones:import', { path: model, name: 'wide', resize: 'fill', mean: [0.5], std: [0.25] });
    const e0 = performance.now();
    const emb = await call(services, 'embeddings:compute', { dataset: 'many', backbone: 'wide' });
    const embedSeconds = (performance.now() - e0) / 1000;
    const rssBefore = rssMb();
    const config = { seed: 0, epochs: job.epochs ?? 30, batchSize: 64, model: { backbone: 'wide' }, optimizer: { lr: 0.003 }, mixup: { alpha: 0.2 } };
    const runId = await prepareNewRun(services, { dataset: 'many', config }, () => undefined);
    const t0 = performance.now();
    const status = await trainRun(services, { runId, backend: 'wasm', resume: false }, { emit: () => undefined, cancelled: () => false });
    const s = (performance.now() - t0) / 1000;
    const run = getRun(services.db, runId);
    return {
      status,
      images: emb.images,
      dim: emb.dim,
      epochs: run.epochs.length,
      embedSeconds,
      trainSeconds: s,
      epochSeconds: run.epochs.reduce((a, e) => a + e.seconds, 0),
      valAccuracy: run.metrics.valAccuracy,
      embeddingMb: (emb.images * emb.dim * 4) / 1024 / 1024,
      peakRssMbBeforeTraining: rssBefore,
      peakRssMb: rssMb(),
    };
  } finally {
    services.cleanup();
  }
}

const modes: Record<string, () => Promise<object>> = { embed, ort: ortAlone, head };
const run = modes[job.mode];
if (!run) throw new Error(`unknown mode ${job.mode}`);
run().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err) => {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    process.exit(1);
  },
);

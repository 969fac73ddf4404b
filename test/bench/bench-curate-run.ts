/**
 * The MixUp Studio side of `npm run bench:curate` (run by bench-curate.mjs through tsx); prints one JSON line.
 *   {"mode":"pass","work":DIR,"images":N}   a Fashion-MNIST tree of N images with known faults, indexed and
 *       embedded (not timed), then the curation pass timed per phase: thumbnails decoded, then cached, then with
 *       the map; the embeddings
 *       and labels are written to DIR/emb-N.f32 / DIR/labels-N.i32 for the Python reference.
 *   {"mode":"project","points":N}            neighbours + UMAP of N synthetic 64-d points (10 clusters).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import type { Services } from '../../src-main/core/services';
import { listUsableImages } from '../../src-main/datasets/repository';
import { readEmbeddings, resolveBackbone } from '../../src-main/backbones/repository';
import { neighboursWithin, unitRows } from '../../src-main/curation/neighbours';
import { projectMap } from '../../src-main/curation/projection';
import { Rng } from '../../src-main/mixup/rng';
import { pretrainFashionBackbone } from '../helpers/fm-backbone';
import { writeFaultyFashion } from '../helpers/faulty-fashion';
import { tempServices } from '../helpers/temp';

const job = JSON.parse(process.argv[2] ?? '{}');
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function timedPass(services: Services, input: object): Promise<{ seconds: number; phases: Record<string, number>; result: any }> {
  const phases: Record<string, number> = {};
  let phase = '';
  let since = performance.now();
  const t0 = since;
  const result = (await invokeOperation(operations, 'curation:run', input, {
    services,
    signal: new AbortController().signal,
    emit: (_topic, data: any) => {
      if (data.label !== phase) {
        const now = performance.now();
        if (phase) phases[phase] = (phases[phase] ?? 0) + (now - since) / 1000;
        phase = data.label;
        since = now;
      }
    },
  })) as any;
  const end = performance.now();
  if (phase) phases[phase] = (phases[phase] ?? 0) + (end - since) / 1000;
  for (const k of Object.keys(phases)) phases[k] = Math.round(phases[k]! * 100) / 100;
  return { seconds: (end - t0) / 1000, phases, result };
}

async function pass(): Promise<object> {
  const n: number = job.images;
  const classes = ['ankle-boot', 'bag', 'coat', 'dress', 'pullover', 'sandal', 'shirt', 'sneaker', 't-shirt', 'trouser'];
  const backbone = join(job.work, 'fm-backbone.onnx');
  if (!existsSync(backbone)) await pretrainFashionBackbone(backbone, classes);
  const root = join(job.work, `fm-${n}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const data = await writeFaultyFashion(root, { perClass: Math.round(n / 10), copies: Math.round(n / 100), crossClassCopies: Math.round(n / 300) });
  const services = tempServices();
  try {
    const call = (name: string, input: unknown) => invokeOperation(operations, name, input, { services, signal: new AbortController().signal, emit: () => undefined }) as Promise<any>;
    await call('backbones:import', { path: backbone, name: 'fm', resize: 'fill', mean: [0], std: [1] });
    await call('datasets:index', { root, name: 'fm' });
    const emb = await call('embeddings:compute', { dataset: 'fm', backbone: 'fm' });
    const noMap = await timedPass(services, { dataset: 'fm', backbone: 'fm', seed: 1, map: 'none' });
    const cached = await timedPass(services, { dataset: 'fm', backbone: 'fm', seed: 1, map: 'none' });
    const withMap = await timedPass(services, { dataset: 'fm', backbone: 'fm', seed: 1, map: 'umap' });
    // The same embeddings, in the same order, for the reference.
    const images = listUsableImages(services.db, 1);
    const bb = resolveBackbone(services.db, 'fm');
    const vec = new Map<string, Float32Array>();
    for (const v of readEmbeddings(services.db, bb.id, [...new Set(images.map((i) => i.hash))])) vec.set(v.hash, v.vector);
    const x = new Float32Array(images.length * emb.dim);
    images.forEach((img, i) => x.set(vec.get(img.hash)!, i * emb.dim));
    writeFileSync(join(job.work, `emb-${n}.f32`), x);
    writeFileSync(join(job.work, `labels-${n}.i32`), Int32Array.from(images, (i) => i.classIndex));
    const r = noMap.result;
    const wrong = new Set(data.wrong.map((w) => w.path));
    return {
      images: r.images,
      dim: emb.dim,
      seconds: Math.round(noMap.seconds * 100) / 100,
      phases: noMap.phases,
      cached: { seconds: Math.round(cached.seconds * 100) / 100, phases: cached.phases },
      mapSeconds: withMap.phases.map ?? null,
      found: { wrong: data.wrong.length, flagged: r.labelIssues.length, wrongFlagged: r.labelIssues.filter((f: any) => wrong.has(f.path)).length, groups: r.nearDuplicates.length, copies: data.copies.length },
      rssMb: rssMb(),
    };
  } finally {
    services.cleanup();
  }
}

async function project(): Promise<object> {
  const n: number = job.points;
  const d = 64;
  const rng = new Rng(5);
  const centres = Array.from({ length: 10 }, () => Float32Array.from({ length: d }, () => rng.normal()));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = centres[i % 10]![j]! + 0.6 * rng.normal();
  const u = unitRows(x, n, d);
  const t0 = performance.now();
  const nb = await neighboursWithin(u, d, Array.from({ length: n }, (_, i) => i), 15);
  const t1 = performance.now();
  await projectMap(u, n, d, nb, { seed: 1 });
  const t2 = performance.now();
  return { points: n, neighboursSeconds: Math.round((t1 - t0) / 10) / 100, umapSeconds: Math.round((t2 - t1) / 10) / 100, rssMb: rssMb() };
}

(job.mode === 'pass' ? pass() : project()).then(
  (out) => process.stdout.write(`${JSON.stringify(out)}\n`),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);

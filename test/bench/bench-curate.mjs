#!/usr/bin/env node
/**
 * `npm run bench:curate` — curation from embeddings (issue 14), each figure with its reference from the same run:
 *  1. the whole curation pass (label issues by 5-fold softmax regression + confident learning, neighbours,
 *     the near-duplicate image check, outliers, pairs with intrusion; no map) on Fashion-MNIST trees of 3,000 and
 *     30,000 images with known faults, embeddings cached (a 64-d ONNX backbone pretrained here; the embedding
 *     pass also made the near-duplicate thumbnails), a first pass and a second — against the Python reference on the same embeddings:
 *     scikit-learn's 5-fold LogisticRegression (StandardScaler, lbfgs) + numpy brute-force neighbours, the same
 *     threads; target ≤ 1.0× (the reference does no image check and finds no duplicates, so the like-for-like
 *     figure is the folds + neighbours part; both are printed);
 *  2. the map: UMAP of the same images, and neighbours + UMAP of 100,000 synthetic 64-d points: seconds.
 * Needs Debian's python3-sklearn and python3-numpy (`bash scripts/install-system-deps.sh` installs them).
 *
 * Options: --sizes 3000,30000 --points 100000 --json
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, log, opt } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const python = process.env.MIXUP_STUDIO_PYTHON || '/usr/bin/python3';
const cores = os.availableParallelism?.() ?? os.cpus().length;
const sizes = String(opt('sizes', '3000,30000')).split(',').map(Number);
const points = Number(opt('points', 100000));
const json = flag('json');
const work = path.join(os.tmpdir(), 'mixup-bench-curate');
mkdirSync(work, { recursive: true });

function lastJson(out) {
  for (const l of String(out).trim().split('\n').reverse()) if (l.startsWith('{')) return JSON.parse(l);
  return undefined;
}
function app(job) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'bench-curate-run.ts'), JSON.stringify({ work, ...job })], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  return lastJson(r.stdout) ?? { error: (r.stderr || 'no output').trim().split('\n').slice(-3).join(' ') };
}
function reference(n, dim) {
  const r = spawnSync(python, ['-W', 'ignore', path.join(here, 'bench_curate_ref.py'), path.join(work, `emb-${n}.f32`), path.join(work, `labels-${n}.i32`), String(dim), String(cores)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return lastJson(r.stdout) ?? { error: (r.stderr || r.error?.message || 'no output').trim().split('\n').slice(-1)[0] };
}

const rows = [];
for (const n of sizes) {
  log(`curation pass on ${n} images (writing, indexing and embedding them first: not timed)…`);
  const ours = app({ mode: 'pass', images: n });
  const ref = ours.error ? { error: 'no embeddings' } : reference(n, ours.dim);
  rows.push({ n, ours, ref });
}
log(`neighbours + UMAP of ${points} synthetic points…`);
const proj = app({ mode: 'project', points });

const f = (x) => (typeof x === 'number' ? x.toFixed(2) : '—');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
if (json) {
  process.stdout.write(`${JSON.stringify({ cores, rows, projection: proj })}\n`);
} else {
  console.log(`bench:curate (${cores} cores; MixUp Studio vs scikit-learn + numpy on the same embeddings and threads; time ratio, lower is better)`);
  console.log('images  | first pass | second pass | folds+neighbours | reference (sklearn 5-fold + numpy kNN) | ratio whole (second pass) | ratio like-for-like | map (UMAP) | found');
  for (const { n, ours: o, ref: r } of rows) {
    if (o.error) {
      console.log(`${n}: ${o.error}`);
      continue;
    }
    const like = (o.cached.phases.folds ?? 0) + (o.cached.phases.neighbours ?? 0);
    console.log(
      `${String(o.images).padEnd(7)} | ${f(o.seconds).padStart(8)} s (dups ${f(o.phases.duplicates)} s) | ${f(o.cached.seconds).padStart(8)} s | ${f(like).padStart(8)} s | ${r.error ? r.error : `${f(r.seconds)} s (folds ${f(r.foldsSeconds)}, kNN ${f(r.neighboursSeconds)})`} | ${ratio(o.cached.seconds, r.seconds)} | ${ratio(like, r.seconds)} | ${f(o.mapSeconds)} s | ${o.found.wrongFlagged}/${o.found.wrong} wrong labels flagged (${o.found.flagged} flagged), ${o.found.groups} groups for ${o.found.copies} copies; peak RSS ${o.rssMb} MB`,
    );
  }
  console.log(proj.error ? `projection: ${proj.error}` : `projection of ${proj.points} points: exact neighbours ${f(proj.neighboursSeconds)} s + UMAP ${f(proj.umapSeconds)} s; peak RSS ${proj.rssMb} MB`);
}

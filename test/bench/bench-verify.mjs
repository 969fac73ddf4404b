#!/usr/bin/env node
/**
 * Verify-pass speed (issue 2): 1,000 photo-sized JPEGs (640x480, Fashion-MNIST pictures upscaled, tinted and
 * overlaid with film-grain noise so they compress like photos; made once under /tmp), measured as a user
 * runs it: `mixup-studio verify DATASET` through the built CLI (decode + 128-px WebP thumbnail per image,
 * worker threads) after an (untimed) `index`, against Pillow doing Image.thumbnail + WebP save per file
 * (bench-verify-reference.py, same quality 75 and fastest WebP method on both sides).
 * Prints the figures (median and best of --reps runs, wall and CPU seconds) and the ratios (target <= 1.0,
 * goal 0.5).
 * Needs `npm run build` first. Usage: `npm run bench:verify [-- --reps 3]`.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readFashionMnist } from '../../scripts/lib/fashion-mnist.mjs';
import { flag, log, median, opt, requireBuild, TIME, timedIn } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..', '..');
const bin = join(repo, 'bin', 'mixup-studio.cjs');
const reps = Number(opt('reps', '3'));
const work = opt('dir', '/tmp/mixup-bench-verify');
const FILES = 1000;
const tree = join(work, 'tree');

requireBuild(repo);

async function makeTree() {
  const marker = join(tree, '.complete');
  if (existsSync(marker)) return;
  log(`making ${FILES} 640x480 JPEGs under ${tree} (once)…`);
  rmSync(tree, { recursive: true, force: true });
  const ds = readFashionMnist('train');
  const size = ds.rows * ds.cols;
  const grain = await sharp({ create: { width: 640, height: 480, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .png()
    .toBuffer();
  for (let start = 0; start < FILES; start += 32) {
    const jobs = [];
    for (let i = start; i < Math.min(FILES, start + 32); i++) {
      const cls = `class-${ds.labels[i]}`;
      mkdirSync(join(tree, cls), { recursive: true });
      const px = Buffer.from(ds.images.subarray(i * size, (i + 1) * size));
      jobs.push(
        sharp(px, { raw: { width: ds.cols, height: ds.rows, channels: 1 } })
          .resize(640, 480, { kernel: 'cubic', fit: 'fill' })
          .toColourspace('srgb')
          .tint({ r: 60 + ((i * 37) % 180), g: 60 + ((i * 91) % 180), b: 60 + ((i * 53) % 180) })
          .composite([{ input: grain, blend: 'soft-light' }])
          .jpeg({ quality: 85 })
          .toFile(join(tree, cls, `photo-${String(i).padStart(4, '0')}.jpg`)),
      );
    }
    await Promise.all(jobs);
  }
  writeFileSync(marker, 'ok');
}


const timed = (cmd, argv, env) => timedIn(work, cmd, argv, env);

await makeTree();
const ours = [];
const ref = [];
for (let rep = 0; rep < reps; rep++) {
  const home = join(work, `home-${rep}`);
  rmSync(home, { recursive: true, force: true });
  const idx = JSON.parse(timed(process.execPath, [bin, '--home', home, '--json', 'index', tree]).stdout);
  if (idx.images !== FILES) throw new Error(`indexed ${idx.images} images`);
  const v = timed(process.execPath, [bin, '--home', home, '--json', 'verify', idx.dataset.name]);
  const doc = JSON.parse(v.stdout);
  if (doc.verified !== FILES) throw new Error(`verified ${doc.verified}`);
  const thumbs = readdirSync(join(home, 'thumbs'), { recursive: true }).filter((f) => String(f).endsWith('.webp')).length;
  if (thumbs !== FILES) throw new Error(`${thumbs} thumbnails`);
  ours.push(v);
  const out = join(work, `pillow-${rep}`);
  rmSync(out, { recursive: true, force: true });
  const p = timed('/usr/bin/python3', [join(here, 'bench-verify-reference.py'), tree, out]);
  if (!p.stdout.includes(`thumbnails ${FILES} failed 0`)) throw new Error(`reference: ${p.stdout}`);
  ref.push(p);
  rmSync(home, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
}
const fmt = (x) => (Number.isFinite(x) ? `${x.toFixed(3)} s` : 'n/a');
const st = (xs, key) => ({ median: median(xs.map((x) => x[key])), best: Math.min(...xs.map((x) => x[key])) });
const O = { s: st(ours, 's'), cpu: st(ours, 'cpu') };
const R = { s: st(ref, 's'), cpu: st(ref, 'cpu') };
const row = (label, f, xs) => `${label} wall median ${fmt(f.s.median)}  best ${fmt(f.s.best)}   cpu median ${fmt(f.cpu.median)}   [${xs.map((x) => fmt(x.s)).join(', ')}]`;
console.log(`verify bench: ${FILES} JPEGs 640x480, decode + 128-px WebP thumbnail, ${reps} runs each, ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(1)}`);
console.log(row('mixup-studio verify (CLI, worker threads)', O, ours));
console.log(row('Pillow thumbnail + WebP save, per file   ', R, ref));
console.log(`ratio wall median = ${(O.s.median / R.s.median).toFixed(2)}   wall best = ${(O.s.best / R.s.best).toFixed(2)}   (target <= 1.0, goal 0.5)` +
  (TIME ? `   cpu median = ${(O.cpu.median / R.cpu.median).toFixed(2)} (CPU used, all threads)` : ''));
if (flag('json')) console.log(JSON.stringify({ files: FILES, reps, verify: O, pillow: R, ratioWallMedian: O.s.median / R.s.median, ratioWallBest: O.s.best / R.s.best }));

#!/usr/bin/env node
/**
 * Indexing speed (issue 2): a tree of 20,000 small JPEGs in 20 classes (Fashion-MNIST images from Debian's
 * dataset-fashion-mnist, made once under /tmp), measured as a user runs it:
 *   (a) the first scan through the built CLI (`mixup-studio --home H index TREE --json`, a fresh home),
 *   (b) an unchanged rescan (same command again),
 *   (c) the reference a careful Python user would write (bench-index-reference.py: os.walk, sha1 of the
 *       bytes, Pillow Image.open for the header, sqlite3 executemany in one transaction),
 *   (d) the CLI's bare start-up (`mixup-studio --version`).
 * Prints each figure (median and best of --reps runs, wall and CPU seconds, warm page cache) and the ratios
 * a/c (target <= 1.0, goal 0.5) and (b-d)/(a-d) (target <= 0.1). Needs `npm run build` first. Usage: `npm run bench:index [-- --reps 3]`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
const work = opt('dir', '/tmp/mixup-bench-index');
const FILES = 20000;
const CLASSES = 20;
const tree = join(work, 'tree');

requireBuild(repo);

async function makeTree() {
  const marker = join(tree, '.complete');
  if (existsSync(marker)) return;
  log(`making ${FILES} JPEGs in ${CLASSES} classes under ${tree} (once)…`);
  rmSync(tree, { recursive: true, force: true });
  const ds = readFashionMnist('train');
  const size = ds.rows * ds.cols;
  for (let c = 0; c < CLASSES; c++) mkdirSync(join(tree, `class-${String(c).padStart(2, '0')}`), { recursive: true });
  for (let start = 0; start < FILES; start += 256) {
    const jobs = [];
    for (let i = start; i < Math.min(FILES, start + 256); i++) {
      const px = Buffer.from(ds.images.subarray(i * size, (i + 1) * size));
      const cls = `class-${String(i % CLASSES).padStart(2, '0')}`;
      jobs.push(
        sharp(px, { raw: { width: ds.cols, height: ds.rows, channels: 1 } })
          .jpeg({ quality: 90 })
          .toFile(join(tree, cls, `img-${String(i).padStart(5, '0')}.jpg`)),
      );
    }
    await Promise.all(jobs);
  }
  writeFileSync(marker, 'ok');
}


const timed = (cmd, argv, env) => timedIn(work, cmd, argv, env);


await makeTree();
// Warm the page cache (every file read once by an untimed reference run) and the binaries.
timed(process.execPath, [bin, '--version']);
execFileSync('/usr/bin/python3', ['-c', 'import PIL.Image, sqlite3, hashlib']);
rmSync(join(work, 'warm.sqlite'), { force: true });
timed('/usr/bin/python3', [join(here, 'bench-index-reference.py'), tree, join(work, 'warm.sqlite')]);

const a = [];
const b = [];
const c = [];
const d = [];
let images = 0;
for (let rep = 0; rep < reps; rep++) {
  const home = join(work, `home-${rep}`);
  rmSync(home, { recursive: true, force: true });
  const reference = () => {
    const dbFile = join(work, `reference-${rep}.sqlite`);
    rmSync(dbFile, { force: true });
    const ref = timed('/usr/bin/python3', [join(here, 'bench-index-reference.py'), tree, dbFile]);
    if (!ref.stdout.includes(`indexed ${FILES}`)) throw new Error(`reference: ${ref.stdout}`);
    c.push(ref);
    rmSync(dbFile, { force: true });
  };
  // Alternate which side runs first, so neither always meets the other's leftovers.
  if (rep % 2 === 1) reference();
  const first = timed(process.execPath, [bin, '--home', home, '--json', 'index', tree]);
  const doc = JSON.parse(first.stdout);
  images = doc.images;
  if (doc.images !== FILES || doc.added !== FILES) throw new Error(`first scan indexed ${doc.images} images, added ${doc.added}`);
  a.push(first);
  const again = timed(process.execPath, [bin, '--home', home, '--json', 'index', tree]);
  const doc2 = JSON.parse(again.stdout);
  if (doc2.unchanged !== FILES || doc2.added + doc2.changed + doc2.removed !== 0) throw new Error(`rescan was not a no-op: ${again.stdout.slice(0, 300)}`);
  b.push(again);
  if (rep % 2 === 0) reference();
  d.push(timed(process.execPath, [bin, '--version']));
  rmSync(home, { recursive: true, force: true });
}

// Each figure as the median and the best of the runs, in wall seconds and in CPU seconds (user + sys of
// all threads). On a shared machine the best wall time and the CPU time are the steadier figures.
const stat = (xs, key) => ({ median: median(xs.map((x) => x[key])), best: Math.min(...xs.map((x) => x[key])) });
const fig = { a: {}, b: {}, c: {}, d: {} };
for (const key of ['s', 'cpu']) {
  for (const [k, xs] of Object.entries({ a, b, c, d })) fig[k][key] = stat(xs, key);
}
const ratios = (pick) => ({
  aOverC: pick(fig.a) / pick(fig.c),
  rescanWork: (pick(fig.b) - pick(fig.d)) / (pick(fig.a) - pick(fig.d)),
});
const fmt = (x) => (Number.isFinite(x) ? `${x.toFixed(3)} s` : 'n/a');
const row = (label, k, xs) =>
  `${label} wall median ${fmt(fig[k].s.median)}  best ${fmt(fig[k].s.best)}   cpu median ${fmt(fig[k].cpu.median)}   [${xs.map((x) => fmt(x.s)).join(', ')}]`;
console.log(`index bench: ${FILES} JPEGs (28x28, Fashion-MNIST) in ${CLASSES} classes, ${reps} runs each, warm page cache, ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(1)}`);
console.log(row('(a) first scan, CLI          ', 'a', a));
console.log(row('(b) unchanged rescan, CLI    ', 'b', b));
console.log(row('(c) careful Python reference ', 'c', c));
console.log(row('(d) mixup-studio --version   ', 'd', d));
const pr = (name, r) =>
  console.log(`${name.padEnd(12)} a/c = ${r.aOverC.toFixed(2)} (target <= 1.0, goal 0.5)   (b-d)/(a-d) = ${r.rescanWork.toFixed(3)} (target <= 0.1)`);
pr('wall median', ratios((f) => f.s.median));
pr('wall best', ratios((f) => f.s.best));
if (TIME) pr('cpu median', ratios((f) => f.cpu.median));
if (flag('json')) console.log(JSON.stringify({ files: FILES, classes: CLASSES, images, reps, figures: fig, ratios: { wallMedian: ratios((f) => f.s.median), wallBest: ratios((f) => f.s.best), cpuMedian: ratios((f) => f.cpu.median) } }));

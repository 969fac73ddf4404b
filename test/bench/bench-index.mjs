#!/usr/bin/env node
/**
 * Indexing speed (issue 2): a tree of 20,000 small JPEGs in 20 classes (Fashion-MNIST images from Debian's
 * dataset-fashion-mnist, made once under /tmp), measured as a user runs it:
 *   (a) the first scan through the built CLI (`mixup-studio --home H index TREE --json`, a fresh home),
 *   (b) an unchanged rescan (same command again),
 *   (c) the reference a careful Python user would write (bench-index-reference.py: os.walk, sha1 of the
 *       bytes, Pillow Image.open for the header, sqlite3 executemany in one transaction),
 *   (d) the CLI's bare start-up (`mixup-studio --version`).
 * Prints each figure (median of --reps runs, warm page cache) and the ratios a/c (target <= 1.0, goal 0.5)
 * and (b-d)/(a-d) (target <= 0.1). Needs `npm run build` first. Usage: `npm run bench:index [-- --reps 3]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readFashionMnist } from '../../scripts/lib/fashion-mnist.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..', '..');
const bin = join(repo, 'bin', 'mixup-studio.cjs');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '3'));
const work = opt('dir', '/tmp/mixup-bench-index');
const FILES = 20000;
const CLASSES = 20;
const tree = join(work, 'tree');
const log = (s) => process.stderr.write(`${s}\n`);

if (!existsSync(join(repo, 'out', 'main', 'cli.js'))) {
  log('out/main/cli.js is missing: run `npm run build` first');
  process.exit(1);
}

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

function timed(cmd, argv, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { s, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
    c.push(ref.s);
    rmSync(dbFile, { force: true });
  };
  // Alternate which side runs first, so neither always meets the other's leftovers.
  if (rep % 2 === 1) reference();
  const first = timed(process.execPath, [bin, '--home', home, '--json', 'index', tree]);
  const doc = JSON.parse(first.stdout);
  images = doc.images;
  if (doc.images !== FILES || doc.added !== FILES) throw new Error(`first scan indexed ${doc.images} images, added ${doc.added}`);
  a.push(first.s);
  const again = timed(process.execPath, [bin, '--home', home, '--json', 'index', tree]);
  const doc2 = JSON.parse(again.stdout);
  if (doc2.unchanged !== FILES || doc2.added + doc2.changed + doc2.removed !== 0) throw new Error(`rescan was not a no-op: ${again.stdout.slice(0, 300)}`);
  b.push(again.s);
  if (rep % 2 === 0) reference();
  d.push(timed(process.execPath, [bin, '--version']).s);
  rmSync(home, { recursive: true, force: true });
}

const A = median(a);
const B = median(b);
const C = median(c);
const D = median(d);
const fmt = (x) => `${x.toFixed(3)} s`;
const out = {
  files: FILES,
  classes: CLASSES,
  images,
  reps,
  firstScan: A,
  rescan: B,
  pythonReference: C,
  startup: D,
  ratioFirstScanToReference: A / C,
  ratioRescanWork: (B - D) / (A - D),
};
console.log(`index bench: ${FILES} JPEGs (28x28, Fashion-MNIST) in ${CLASSES} classes, median of ${reps} runs, warm cache`);
console.log(`(a) first scan, CLI            ${fmt(A)}   [${a.map(fmt).join(', ')}]`);
console.log(`(b) unchanged rescan, CLI      ${fmt(B)}   [${b.map(fmt).join(', ')}]`);
console.log(`(c) careful Python reference   ${fmt(C)}   [${c.map(fmt).join(', ')}]`);
console.log(`(d) mixup-studio --version     ${fmt(D)}   [${d.map(fmt).join(', ')}]`);
console.log(`a/c         = ${(A / C).toFixed(2)}   (target <= 1.0, goal 0.5)`);
console.log(`(b-d)/(a-d) = ${((B - D) / (A - D)).toFixed(3)}  (target <= 0.1)`);
if (args.includes('--json')) console.log(JSON.stringify(out));

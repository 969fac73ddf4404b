#!/usr/bin/env node
/**
 * `npm run bench:sweep` — sweeps (issue 16): the wall time of a 12-trial grid (mixup.alpha × optimizer.lr) on
 * frozen-backbone embeddings and on cnn-small from scratch, with and without Hyperband (the epochs trained and
 * the time saved), and the overhead per trial beyond its training (target < 0.5 s: the engine, the database and
 * the decoded images are reused across trials). Reference, measured in the same run: the same trials as
 * separate `mixup-studio train` commands (each its own process, engine start-up, data read from the disk cache),
 * whose overhead per run is printed beside the sweep's.
 *
 * Options: --epochs-scratch 6 --epochs-head 20 --reference 4 (separate train runs timed) --json
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, log, opt } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const cores = os.availableParallelism?.() ?? os.cpus().length;
const json = flag('json');
const epochs = { scratch: Number(opt('epochs-scratch', 6)), head: Number(opt('epochs-head', 20)) };
const referenceRuns = Number(opt('reference', 4));
const work = path.join(os.tmpdir(), 'mixup-bench-sweep');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

function lastJson(out) {
  try {
    return JSON.parse(String(out));
  } catch {
    for (const l of String(out).trim().split('\n').reverse()) if (l.startsWith('{') && l.endsWith('}')) return JSON.parse(l);
    return undefined;
  }
}
function sweep(kind, hyperband) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'bench-sweep-run.ts'), JSON.stringify({ work, kind, hyperband, epochs: epochs[kind] })], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  return lastJson(r.stdout) ?? { error: (r.stderr || 'no output').trim().split('\n').slice(-3).join(' ') };
}

/** Separate `train` commands with a trial's config, in the sweep's home (the pixel cache and embeddings warm). */
function reference(kind, config) {
  const home = path.join(work, `home-${kind}-all`);
  const cli = path.join(root, 'bin', 'mixup-studio.cjs');
  const built = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).status === 0;
  const args = built ? [cli] : ['--import', 'tsx', path.join(root, 'src-main', 'cli', 'main.ts')];
  const overheads = [];
  for (let i = 0; i < referenceRuns; i++) {
    const file = path.join(work, `ref-${kind}-${i}.json`);
    writeFileSync(file, JSON.stringify({ ...config, mixup: { alpha: [0, 0.2, 0.4, 1][i % 4] } }));
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...args, '--home', home, 'train', 'fm', '--config', file, '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...(built ? {} : { MIXUP_STUDIO_FROM_SOURCES: '1' }) } });
    const wall = (performance.now() - t0) / 1000;
    const doc = lastJson(r.stdout);
    if (!doc) return { error: (r.stderr || 'no output').trim().split('\n').slice(-2).join(' ') };
    overheads.push(wall - doc.epochs.reduce((a, e) => a + e.seconds, 0));
  }
  return { runs: referenceRuns, overhead: overheads.reduce((a, b) => a + b, 0) / overheads.length, built };
}

const rows = [];
for (const kind of ['head', 'scratch']) {
  log(`12-trial grid, ${kind === 'head' ? 'head on a frozen 64-d backbone' : 'cnn-small from scratch'}, ${epochs[kind]} epochs: all trials…`);
  const all = sweep(kind, false);
  log('  …with Hyperband…');
  const hb = sweep(kind, true);
  log(`  …and ${referenceRuns} separate train commands (the reference)…`);
  const ref = all.error ? { error: 'no sweep' } : reference(kind, all.config);
  rows.push({ kind, all, hb, ref });
}

const f = (x, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '—');
if (json) process.stdout.write(`${JSON.stringify({ cores, rows })}\n`);
else {
  console.log(`bench:sweep on ${cores} cores (12-trial grid: mixup.alpha 0,0.2,0.4,1 × optimizer.lr 0.001,0.003,0.01; 1,200 Fashion-MNIST images, 240 val)`);
  console.log('');
  console.log('what                         early stop   wall s   epochs trained   stopped   overhead/trial s (first)   separate train: overhead/run s   ratio');
  for (const { kind, all, hb, ref } of rows) {
    const name = kind === 'head' ? `head on frozen 64-d (${epochs.head} ep)` : `cnn-small 28×28 (${epochs.scratch} ep)`;
    for (const [label, r] of [['none', all], ['hyperband', hb]]) {
      if (r.error) {
        console.log(`${name.padEnd(28)} ${label.padEnd(11)}  error: ${r.error}`);
        continue;
      }
      const refCol = label === 'none' ? (ref.error ? `error: ${ref.error}` : f(ref.overhead)) : '';
      const ratio = label === 'none' && !ref.error ? `${(r.overhead / ref.overhead).toFixed(3)}×` : '';
      console.log(`${name.padEnd(28)} ${label.padEnd(11)}  ${f(r.seconds, 1).padStart(6)}   ${`${r.epochs}/${r.epochsPlanned}`.padStart(14)}   ${String(r.stopped).padStart(7)}   ${`${f(r.overhead, 3)} (max ${f(r.maxOverhead, 3)}; first ${f(r.firstOverhead)})`.padStart(24)}   ${refCol.padStart(30)}   ${ratio}`);
    }
    if (!all.error && !hb.error) console.log(`${''.padEnd(28)} Hyperband saved ${(100 * (1 - hb.seconds / all.seconds)).toFixed(0)} % of the wall time and ${all.epochs - hb.epochs} epochs; best ${JSON.stringify(all.best?.params)} vs ${JSON.stringify(hb.best?.params)}`);
  }
  console.log('');
  console.log('overhead/trial: a trial\'s wall time beyond its epochs\' training (set-up, data, model save, test split), trials 2–12 (target < 0.5 s); the first trial also starts the training process.');
}

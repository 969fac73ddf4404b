#!/usr/bin/env node
/**
 * `npm run bench:train` — images/s of one cnn-small training step (28×28×1, B=128, Adam, soft targets):
 * tfjs on every backend available here (wasm with the engine's kernels at 1 thread and at every core; the JS
 * cpu backend for one small-batch step, as it is ~100x slower) against PyTorch on the CPU (Debian's python3-torch, same architecture,
 * torch.set_num_threads(os.cpu_count())), side by side in one run, with the ratio and the per-kernel profile.
 *
 * Options: --batch N (128) --steps N (20) --cpu-batch N (8) --json
 * Target: ≥ 0.15× PyTorch; the goal is parity.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const json = args.includes('--json');
const batch = opt('batch', 128);
const steps = opt('steps', 20);
const cpuBatch = opt('cpu-batch', 8);
const cores = os.cpus().length;
const python = process.env.MIXUP_STUDIO_PYTHON || '/usr/bin/python3';

function log(msg) {
  if (!json) process.stderr.write(`${msg}\n`);
}

function lastJsonLine(out) {
  const lines = String(out).trim().split('\n').reverse();
  for (const l of lines) {
    if (l.startsWith('{')) return JSON.parse(l);
  }
  return undefined;
}

function runTfjs(o) {
  log(`tfjs ${o.backend}${o.threads ? ` (${o.threads} thread${o.threads > 1 ? 's' : ''})` : ''}: ${o.steps} steps of B=${o.batch ?? batch}…`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'bench-train-run.ts'), JSON.stringify({ arch: 'cnn-small', batch, ...o })], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const res = lastJsonLine(r.stdout);
  if (!res || res.error) return { backend: o.backend, threads: o.threads, error: res?.error || (r.stderr || '').trim().split('\n').slice(-3).join(' ') };
  return res;
}

function runTorch(threads) {
  log(`PyTorch (${python}, ${threads} thread${threads === 1 ? '' : 's'}): ${steps} steps of B=${batch}…`);
  const r = spawnSync(python, [path.join(here, 'bench_train_torch.py'), '--batch', String(batch), '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' });
  const res = lastJsonLine(r.stdout);
  if (!res) return { backend: 'pytorch-cpu', error: (r.stderr || r.error?.message || 'no output').trim().split('\n').slice(-2).join(' ') };
  return res;
}

const torch = runTorch(cores);
// Also single-threaded, to compare like with like against wasm at 1 thread.
const torch1 = cores > 1 ? runTorch(1) : undefined;
const runs = [runTfjs({ backend: 'wasm', threads: 1, steps })];
if (cores > 1) runs.push(runTfjs({ backend: 'wasm', threads: cores, steps, profile: true }));
else runs[0] = runTfjs({ backend: 'wasm', threads: 1, steps, profile: true });
runs.push(runTfjs({ backend: 'cpu', steps: 1, warmup: 0, batch: cpuBatch }));
// The native and GPU backends run when installed (the engine reports why they are skipped otherwise).
for (const backend of ['tfjs-node', 'tfjs-node-gpu', 'webgpu']) {
  const r = runTfjs({ backend, steps });
  if (!r.error) runs.push(r);
  else log(`  ${backend}: not available here (${r.error})`);
}

const ref = torch.imagesPerSecond;
const rows = runs.map((r) => ({
  ...r,
  ratioToPyTorch: r.imagesPerSecond && ref ? r.imagesPerSecond / ref : undefined,
}));
const best = rows.filter((r) => r.imagesPerSecond).sort((a, b) => b.imagesPerSecond - a.imagesPerSecond)[0];

if (json) {
  process.stdout.write(
    `${JSON.stringify({ arch: 'cnn-small', batch, steps, cores, loadAverage: os.loadavg()[0], pytorch: torch, pytorch1Thread: torch1, tfjs: rows.map(({ profile, ...r }) => r), best: best && { backend: best.backend, threads: best.threads, imagesPerSecond: best.imagesPerSecond, ratioToPyTorch: best.ratioToPyTorch }, profile: rows.find((r) => r.profile)?.profile }, null, 2)}\n`,
  );
} else {
  const fmt = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
  console.log(`\ncnn-small training step, 28x28x1, B=${batch}, Adam, soft targets — ${cores} cores (${os.cpus()[0]?.model ?? 'cpu'}), load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${'engine'.padEnd(44)} ${'images/s'.padStart(10)} ${'ms/step'.padStart(9)} ${'vs PyTorch'.padStart(11)}`);
  console.log(`${`PyTorch ${torch.torch ?? ''} cpu, ${torch.threads ?? '?'} threads (reference)`.padEnd(44)} ${fmt(torch.imagesPerSecond).padStart(10)} ${fmt(torch.msPerStep).padStart(9)} ${'1.00x'.padStart(11)}${torch.error ? `  error: ${torch.error}` : ''}`);
  if (torch1) console.log(`${`PyTorch cpu, 1 thread`.padEnd(44)} ${fmt(torch1.imagesPerSecond).padStart(10)} ${fmt(torch1.msPerStep).padStart(9)} ${(torch1.imagesPerSecond && ref ? `${(torch1.imagesPerSecond / ref).toFixed(2)}x` : '—').padStart(11)}`);
  for (const r of rows) {
    const label = r.error ? `tfjs ${r.backend}` : `tfjs ${r.backend}: ${r.device}${r.batch !== batch ? ` (B=${r.batch})` : ''}`;
    console.log(`${label.padEnd(44)} ${fmt(r.imagesPerSecond).padStart(10)} ${fmt(r.msPerStep).padStart(9)} ${(r.ratioToPyTorch ? `${r.ratioToPyTorch.toFixed(2)}x` : '—').padStart(11)}${r.error ? `  error: ${r.error}` : ''}`);
  }
  if (best) console.log(`\nbest tfjs: ${best.backend} (${best.threads} thread${best.threads === 1 ? '' : 's'}) = ${fmt(best.ratioToPyTorch, 2)}x PyTorch (target >= 0.15x, goal 1x)`);
  const prof = rows.find((r) => r.profile);
  if (prof) {
    console.log(`\nper-kernel profile of one step, tfjs ${prof.backend} (${prof.threads} threads):`);
    console.log(`${'kernel'.padEnd(38)} ${'calls'.padStart(6)} ${'ms'.padStart(8)} ${'share'.padStart(7)}`);
    for (const k of prof.profile.kernels.slice(0, 15)) console.log(`${k.kernel.padEnd(38)} ${String(k.calls).padStart(6)} ${k.ms.toFixed(1).padStart(8)} ${(k.share * 100).toFixed(1).padStart(6)}%`);
    console.log(`${'(sum of kernels)'.padEnd(38)} ${''.padStart(6)} ${prof.profile.kernelMs.toFixed(1).padStart(8)}   (wall ${prof.profile.wallMs.toFixed(1)} ms)`);
  }
}
const ok = torch.imagesPerSecond && runs.some((r) => r.imagesPerSecond);
process.exit(ok ? 0 : 1);

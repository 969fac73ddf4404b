// `npm run bench:quality`: does the app learn as well as PyTorch? Fashion-MNIST subset (3,000 train, 600 val,
// from Debian's dataset-fashion-mnist) written as PNG split folders under /tmp and indexed; cnn-small,
// Adam 1e-3, batch 64, BENCH_EPOCHS (default 8) epochs, a baseline run and a MixUp run (α 0.2, off for the
// last epoch) with the same seed; the same two runs in PyTorch (Debian's python3-torch) on the same PNGs with
// the same normalisation. Prints validation accuracy and ECE (15 bins) side by side.
//
// Uses the built CLI (out/main/cli.js) when present, else the TypeScript sources through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FASHION_MNIST_CLASSES, pickPerClass, readFashionMnist } from '../../scripts/lib/fashion-mnist.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 8);
const SEED = Number(process.env.BENCH_SEED ?? 7);
const work = process.env.BENCH_DIR ?? '/tmp/mixup-bench-quality';
const data = join(work, 'fashion-mnist-3000');
const home = join(work, 'home');

const built = existsSync(join(root, 'out', 'main', 'cli.js')) && existsSync(join(root, 'out', 'main', 'train-worker.js'));
function cli(args) {
  const argv = built ? [join(root, 'bin', 'mixup-studio.cjs'), '--home', home, ...args] : ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, ...args];
  const r = spawnSync(process.execPath, argv, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, ...(built ? {} : { MIXUP_STUDIO_FROM_SOURCES: '1' }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`mixup-studio ${args.join(' ')} exited ${r.status}`);
  return JSON.parse(r.stdout);
}

async function writeSubset() {
  if (existsSync(join(data, 'done'))) return;
  rmSync(data, { recursive: true, force: true });
  const fm = readFashionMnist('train');
  const px = fm.rows * fm.cols;
  const write = async (indices, split) => {
    for (const i of indices) {
      const dir = join(data, split, FASHION_MNIST_CLASSES[fm.labels[i]]);
      mkdirSync(dir, { recursive: true });
      await sharp(Buffer.from(fm.images.subarray(i * px, (i + 1) * px)), { raw: { width: fm.cols, height: fm.rows, channels: 1 } })
        .png()
        .toFile(join(dir, `${String(i).padStart(5, '0')}.png`));
    }
  };
  await write(pickPerClass(fm.labels, 300, 0), 'train');
  await write(pickPerClass(fm.labels, 60, 300), 'val');
  writeFileSync(join(data, 'done'), '');
}

const f = (x) => (x === null || x === undefined ? '   -  ' : x.toFixed(4));

await writeSubset();
rmSync(home, { recursive: true, force: true });
console.error(`bench:quality: ${built ? 'built CLI' : 'sources (tsx)'}, ${EPOCHS} epochs, seed ${SEED}, data ${data}`);
const idx = cli(['--json', 'index', data, '--name', 'fm3000']);
console.error(`indexed ${idx.images} images`);
const base = { seed: SEED, epochs: EPOCHS, batchSize: 64, model: { arch: 'cnn-small', inputSize: [28, 28], channels: 1 }, optimizer: { name: 'adam', lr: 0.001 } };
const configs = {
  baseline: { ...base, mixup: { alpha: 0 } },
  mixup: { ...base, mixup: { alpha: 0.2, offEpoch: EPOCHS - 1 } },
};
const app = {};
for (const [name, cfg] of Object.entries(configs)) {
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  const t0 = Date.now();
  app[name] = cli(['--json', 'train', 'fm3000', '--config', file]);
  app[name].wall = (Date.now() - t0) / 1000;
  console.error(`app ${name}: ${app[name].status} on ${app[name].backend} in ${app[name].wall.toFixed(0)} s`);
}
const show = cli(['--json', 'runs', 'show', String(app.baseline.run.id)]);
const pre = show.preprocessing;
const t0 = Date.now();
const py = spawnSync(
  '/usr/bin/python3',
  [join(root, 'test', 'bench', 'bench_quality_torch.py'), '--data', data, '--epochs', String(EPOCHS), '--seed', String(SEED), '--mean', String(pre.mean[0]), '--std', String(pre.std[0])],
  { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
);
if (py.status !== 0) throw new Error(`PyTorch reference exited ${py.status}`);
const torch = JSON.parse(py.stdout);
console.error(`PyTorch ${torch.torch}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const lines = [];
lines.push(`Fashion-MNIST 3,000 train / 600 val, cnn-small, Adam 1e-3, batch 64, ${EPOCHS} epochs, seed ${SEED}; app backend ${app.baseline.backend} (${app.baseline.device})`);
lines.push(`normalisation (train split): mean ${pre.mean[0].toFixed(4)}, std ${pre.std[0].toFixed(4)}`);
lines.push('');
lines.push('epoch | app base acc  ECE    | app mixup acc  ECE    | torch base acc  ECE    | torch mixup acc  ECE');
for (let e = 0; e < EPOCHS; e++) {
  const a = app.baseline.epochs[e];
  const m = app.mixup.epochs[e];
  const tb = torch.baseline[e];
  const tm = torch.mixup[e];
  lines.push(`${String(e).padStart(5)} |      ${f(a.valAccuracy)} ${f(a.ece)} |       ${f(m.valAccuracy)} ${f(m.ece)} |        ${f(tb.valAccuracy)} ${f(tb.ece)} |         ${f(tm.valAccuracy)} ${f(tm.ece)}`);
}
const last = (rows) => rows[rows.length - 1];
const summary = {
  epochs: EPOCHS,
  seed: SEED,
  backend: app.baseline.backend,
  device: app.baseline.device,
  app: {
    baseline: { valAccuracy: app.baseline.metrics.valAccuracy, ece: app.baseline.metrics.ece, seconds: app.baseline.wall },
    mixup: { valAccuracy: app.mixup.metrics.valAccuracy, ece: app.mixup.metrics.ece, seconds: app.mixup.wall },
  },
  torch: {
    baseline: { valAccuracy: last(torch.baseline).valAccuracy, ece: last(torch.baseline).ece },
    mixup: { valAccuracy: last(torch.mixup).valAccuracy, ece: last(torch.mixup).ece },
  },
};
lines.push('');
lines.push(`final: app baseline acc ${f(summary.app.baseline.valAccuracy)} ECE ${f(summary.app.baseline.ece)} | app MixUp acc ${f(summary.app.mixup.valAccuracy)} ECE ${f(summary.app.mixup.ece)}`);
lines.push(`       torch baseline acc ${f(summary.torch.baseline.valAccuracy)} ECE ${f(summary.torch.baseline.ece)} | torch MixUp acc ${f(summary.torch.mixup.valAccuracy)} ECE ${f(summary.torch.mixup.ece)}`);
lines.push(`ratio app/torch accuracy: baseline ${(summary.app.baseline.valAccuracy / summary.torch.baseline.valAccuracy).toFixed(3)}, MixUp ${(summary.app.mixup.valAccuracy / summary.torch.mixup.valAccuracy).toFixed(3)}`);
console.log(lines.join('\n'));
mkdirSync(join(root, 'test', 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'test', 'bench', 'results', 'quality.json'), JSON.stringify({ summary, app: { baseline: app.baseline.epochs, mixup: app.mixup.epochs }, torch }, null, 2));

#!/usr/bin/env node
/**
 * Mixing throughput: images/s of the MixUp engine for a batch of 128 at 224×224×3 (MixUp and CutMix, batch and
 * elem modes, on the engine's tfjs backend), against the memory-bandwidth bound of a plain copy of the same
 * bytes (Float32Array.set and Buffer.copy) measured in the same run. Prints each figure, the reference and the
 * ratio. Usage: `npm run bench:mixup [-- --backend wasm|cpu] [-- --reps N]` (the TypeScript sources are
 * loaded through tsx).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Run under tsx's loader (one module graph, so tfjs is one instance with the engine's backend).
if (!process.env.MIXUP_BENCH_CHILD) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, MIXUP_BENCH_CHILD: '1' },
  });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const reps = Number(opt('reps', '10'));
const backend = opt('backend', undefined);
const json = args.includes('--json');

const N = 128;
const H = 224;
const W = 224;
const C = 3;
const floats = N * H * W * C;
const bytes = floats * 4;

const tf = await import('@tensorflow/tfjs');
const { initEngine } = await import('../../src-main/training/engine/index.ts');
const { createMixer, mixInputArray } = await import('../../src-main/mixup/mixer.ts');
const { resolveRunConfig } = await import('../../src-main/config/run-config.ts');
const { Rng } = await import('../../src-main/mixup/rng.ts');

const engine = await initEngine(backend ? { backend } : {});
const log = (s) => process.stderr.write(`${s}\n`);
log(`backend: ${engine.backend} (${engine.device})`);

/** Best wall time of `fn` over `reps` runs (after one warm-up), in seconds. */
async function best(times, fn) {
  await fn();
  let min = Infinity;
  for (let r = 0; r < times; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (dt < min) min = dt;
  }
  return min;
}

// Reference: a plain copy of the same bytes (what any mixing must at least read and write).
const src = new Float32Array(floats);
for (let i = 0; i < floats; i += 1024) src[i] = i;
const dst = new Float32Array(floats);
const copySet = await best(reps, () => dst.set(src));
const srcBuf = Buffer.from(src.buffer);
const dstBuf = Buffer.alloc(bytes);
const copyBuf = await best(reps, () => srcBuf.copy(dstBuf));
const copySeconds = Math.min(copySet, copyBuf);
const copyImagesPerSecond = N / copySeconds;

const x = tf.randomUniform([N, H, W, C], 0, 1, 'float32', 1);
const rng = new Rng(1);
const labels = Int32Array.from({ length: N }, () => rng.int(10));
const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);

const shape = [N, H, W, C];
const hostX = x.dataSync();
const hostOut = new Float32Array(floats);
const cases = [
  // The engine's core: the plan applied to the batch in host memory (what the data pipeline hands over).
  { name: 'mixup batch', via: 'host', mixup: { alpha: 0.4, mode: 'batch' } },
  { name: 'mixup elem', via: 'host', mixup: { alpha: 0.4, mode: 'elem' } },
  { name: 'cutmix batch', via: 'host', mixup: { alpha: 0, cutmixAlpha: 1, mode: 'batch' } },
  { name: 'cutmix elem', via: 'host', mixup: { alpha: 0, cutmixAlpha: 1, mode: 'elem' } },
  // applyToInputs on a backend tensor: adds the read-out and upload of the batch on this backend.
  { name: 'mixup batch', via: 'tensor', mixup: { alpha: 0.4, mode: 'batch' } },
  { name: 'cutmix elem', via: 'tensor', mixup: { alpha: 0, cutmixAlpha: 1, mode: 'elem' } },
  // The tfjs-ops path (what GPU backends use), on this backend, for comparison.
  { name: 'mixup batch', via: 'tfjs ops', mixup: { alpha: 0.4, mode: 'batch' }, inputMixing: 'ops', reps: 1 },
];
const results = [];
for (const c of cases) {
  const config = resolveRunConfig({ model: { inputSize: [H, W], channels: C }, mixup: c.mixup });
  const mixer = createMixer({ config, classes, policy: null, rng: new Rng(7), maxLambdas: 0, inputMixing: c.inputMixing ?? 'auto' });
  const seconds = await best(Math.min(reps, c.reps ?? reps), async () => {
    const plan = mixer.planBatch(labels, 0);
    const t = mixer.targets(plan, labels, classes.length);
    if (c.via === 'host') {
      mixInputArray(plan, hostX, shape, hostOut);
    } else {
      const y = mixer.applyToInputs(plan, x);
      await y.data(); // wait for the backend to finish (one read-back; ops run synchronously on cpu/wasm)
      y.dispose();
    }
    t.dispose();
  });
  const imagesPerSecond = N / seconds;
  results.push({ case: `${c.name} (${c.via})`, imagesPerSecond, secondsPerBatch: seconds, ratioToCopy: imagesPerSecond / copyImagesPerSecond });
}
x.dispose();

const doc = {
  batch: [N, H, W, C],
  backend: engine.backend,
  device: engine.device,
  reference: {
    what: 'plain copy of the batch bytes (best of Float32Array.set and Buffer.copy)',
    imagesPerSecond: copyImagesPerSecond,
    gigabytesPerSecond: bytes / copySeconds / 1e9,
  },
  results,
};
if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
else {
  console.log(`batch ${N}×${H}×${W}×${C} float32 (${(bytes / 1e6).toFixed(1)} MB), backend ${engine.backend}, best of ${reps}`);
  console.log(`reference: plain copy ${copyImagesPerSecond.toFixed(0)} images/s (${doc.reference.gigabytesPerSecond.toFixed(2)} GB/s)`);
  for (const r of results) {
    console.log(`${r.case.padEnd(24)} ${r.imagesPerSecond.toFixed(0).padStart(7)} images/s  (${(r.secondsPerBatch * 1000).toFixed(1)} ms/batch)  ratio to copy ${r.ratioToCopy.toFixed(3)}`);
  }
}
process.exit(0);

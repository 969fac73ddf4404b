/**
 * The MixUp Studio side of `npm run bench:sweep` (run by bench-sweep.mjs through tsx); prints one JSON line.
 *   {"work":DIR,"kind":"scratch"|"head","hyperband":bool,"epochs":N}
 * A 12-trial grid (mixup.alpha 0, 0.2, 0.4, 1 × optimizer.lr 0.001, 0.003, 0.01) on the bundled Fashion-MNIST
 * sample (1,200 images, 20 % val), from scratch (cnn-small 28×28×1) or as a head on a frozen 64-d ONNX backbone
 * (embeddings computed before the sweep, not timed). Reports the sweep's wall time, the epochs trained, and each
 * trial's wall time beyond its epochs' training (the overhead).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { openServices } from '../../src-main/db/open-home';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { SAMPLE } from '../training/fixture';

const job = JSON.parse(process.argv[2] ?? '{}');
const home = join(job.work, `home-${job.kind}-${job.hyperband ? 'hb' : 'all'}`);
mkdirSync(home, { recursive: true });
const services = openServices({ home });
const call = (name: string, input: unknown) => invokeOperation(operations, name, input, { services, signal: new AbortController().signal, emit: () => {} }) as Promise<any>;

async function main(): Promise<object> {
  await call('datasets:index', { root: SAMPLE, name: 'fm', valFraction: 0.2, seed: 1 });
  const config: Record<string, unknown> = { seed: 1, epochs: job.epochs, batchSize: 64, mixup: { alpha: 0.2 } };
  if (job.kind === 'head') {
    const file = join(job.work, 'bb64.onnx');
    if (!existsSync(file)) writeTestBackbone(file, { channels: 1, size: [28, 28], dim: 64, seed: 3 });
    await call('backbones:import', { path: file, name: 'bb64', resize: 'fill', mean: [0.5], std: [0.25] });
    await call('embeddings:compute', { dataset: 'fm', backbone: 'bb64' });
    config.model = { backbone: 'bb64', head: { hidden: 64 } };
  } else config.model = { arch: 'cnn-small', inputSize: [28, 28], channels: 1 };
  const t0 = performance.now();
  const doc = await call('sweeps:run', {
    dataset: 'fm',
    config,
    params: ['mixup.alpha=0,0.2,0.4,1', 'optimizer.lr=0.001,0.003,0.01'],
    metric: 'valLoss',
    earlyStop: job.hyperband ? 'hyperband' : 'none',
  });
  const seconds = (performance.now() - t0) / 1000;
  const failed = doc.trials.filter((t: any) => t.status === 'failed');
  if (failed.length) return { error: `${failed.length} trials failed: ${failed[0].error}` };
  const overheads = doc.trials.map((t: any) => t.overheadSeconds as number);
  return {
    kind: job.kind,
    hyperband: job.hyperband,
    seconds,
    trials: doc.trials.length,
    stopped: doc.trials.filter((t: any) => t.status === 'stopped').length,
    epochs: doc.trials.reduce((a: number, t: any) => a + t.epochs, 0),
    epochsPlanned: doc.trials.length * job.epochs,
    firstOverhead: overheads[0],
    overhead: overheads.slice(1).reduce((a: number, b: number) => a + b, 0) / Math.max(1, overheads.length - 1),
    maxOverhead: Math.max(...overheads.slice(1)),
    best: doc.best ? { params: doc.best.params, valLoss: doc.best.metrics.valLoss } : null,
    config,
  };
}

main()
  .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
  .catch((err) => process.stdout.write(`${JSON.stringify({ error: String(err?.message ?? err) })}\n`))
  .finally(() => services.close());

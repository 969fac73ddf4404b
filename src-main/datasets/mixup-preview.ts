/**
 * `mixup preview`: runs the planner over a dataset's training-split labels for every configured epoch, with
 * no model and no pixels, and returns the per-epoch audit. The batches follow the run's own streams
 * (`runStreams(seed)`: one `shuffle` permutation per epoch, `mixup` for the mixing draws), so the preview
 * shows what a run with the same config and data will mix. Same seed → byte-identical output.
 */
import { AppError, throwIfCancelled } from '../core/errors';
import type { RunConfig } from '../config/run-config';
import type { Db } from '../db/connection';
import type { EpochAudit } from '../mixup/audit';
import type { PairPolicy } from '../mixup/pairing';
import { Planner } from '../mixup/plan';
import { epochOrder, runStreams } from '../mixup/rng';
import { configForDataset } from './model-defaults';
import { getPolicy } from './policy-repository';
import { listClasses, listUsableImages, type DatasetInfo } from './repository';

export interface PreviewEpoch extends EpochAudit {}

export interface PreviewResult {
  dataset: { id: number; name: string };
  seed: number;
  classes: string[];
  trainImages: number;
  batchSize: number;
  batchesPerEpoch: number;
  inputSize: [number, number] | null;
  policySource: 'config' | 'dataset';
  policy: PairPolicy;
  epochs: PreviewEpoch[];
}

export function previewMixup(
  db: Db,
  ds: DatasetInfo,
  config: RunConfig,
  opts: { signal?: AbortSignal; onProgress?(done: number, total: number, label: string): void } = {},
): PreviewResult {
  const classes = listClasses(db, ds.id).map((c) => c.name);
  if (classes.length === 0) throw new AppError('input', `dataset '${ds.name}' has no classes`);
  const train = listUsableImages(db, ds.id, { split: 'train' });
  if (train.length === 0) throw new AppError('input', `dataset '${ds.name}' has no usable images in its training split`);
  const inputSize = configForDataset(config, train).model.inputSize;
  const policySource = config.policy ? 'config' : 'dataset';
  const policy: PairPolicy = config.policy
    ? { pairs: config.policy.pairs.map(({ a, b, weight, note }) => ({ a, b, weight, note })) }
    : { pairs: getPolicy(db, ds.id).pairs.map(({ a, b, weight, note }) => ({ a, b, weight, note })) };
  const streams = runStreams(config.seed);
  const planner = new Planner({ config, classes, policy, rng: streams.mixup, inputSize });
  const labelsByPosition = Int32Array.from(train, (im) => im.classIndex);
  const n = train.length;
  const bs = config.batchSize;
  const batches = Math.ceil(n / bs);
  const epochs: PreviewEpoch[] = [];
  const labels = new Int32Array(bs);
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    throwIfCancelled(opts.signal, 'mixup preview');
    const order = epochOrder(n, streams.shuffle);
    for (let b = 0; b < batches; b++) {
      const start = b * bs;
      const size = Math.min(bs, n - start);
      const batchLabels = size === bs ? labels : new Int32Array(size);
      for (let i = 0; i < size; i++) batchLabels[i] = labelsByPosition[order[start + i]];
      planner.planBatch(batchLabels, epoch);
    }
    epochs.push(planner.epochAudit(epoch)!);
    planner.dropAudit(epoch);
    opts.onProgress?.(epoch + 1, config.epochs, `epoch ${epoch + 1}/${config.epochs}`);
  }
  return {
    dataset: { id: ds.id, name: ds.name },
    seed: config.seed,
    classes,
    trainImages: n,
    batchSize: bs,
    batchesPerEpoch: batches,
    inputSize: inputSize ? [inputSize[0], inputSize[1]] : null,
    policySource,
    policy,
    epochs,
  };
}

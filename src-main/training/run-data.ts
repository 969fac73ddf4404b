/**
 * What a run trains on, and the network that takes it, made ready inside the training process:
 * - from scratch (`model.backbone` null): the images decoded into the pixel cache, split into train/val/test
 *   views, normalised by the training split's channel statistics, and the zoo network of `model.arch`;
 * - on a frozen backbone: every usable image's embedding (computed once into the store, then cached), read
 *   back batch by batch, and the head network on the backbone's features.
 * Either way the loop (./loop.ts) sees batch sources and a Network, so MixUp, the pair policy, the schedules,
 * the audit, checkpoints and resume are one code path.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../core/errors';
import type { RunConfig } from '../config/run-config';
import { PIXEL_SCALE, type Preprocessing } from '../config/preprocessing';
import type { Services } from '../core/services';
import { listUsableImages, markCorruptIfPresent, type UsableImage } from '../datasets/repository';
import { BatchMaker, type BatchSource } from './batches';
import { EmbeddingBatches } from './embedding-batches';
import type { EngineInfo } from './engine/index';
import { ImageStore, type DataItem } from './image-store';
import { checkManifoldLayers } from './loop';
import { buildHeadNetwork, buildNetwork, type Network } from './models';
import type { RunInfo } from './runs-repository';
import type { TrainEvents } from './train-events';

export interface RunData {
  train: BatchSource;
  val: BatchSource | null;
  test: BatchSource | null;
  pre: Preprocessing;
  net: Network;
  /** Samples per evaluation batch. */
  evalBatch: number;
  /** What the mixer cuts CutMix boxes in (the image size; 1×1 for features, where CutMix is refused). */
  mixInputSize: [number, number];
}

export interface RunDataContext {
  services: Services;
  run: RunInfo;
  config: RunConfig;
  datasetId: number;
  datasetName: string;
  classes: string[];
  engine: EngineInfo;
  resume: boolean;
  ev: TrainEvents;
  /** True once the run should stop (cancel, or damage met). */
  stop: () => boolean;
  /** Decoded images kept between the runs of one training process. */
  cache?: RunDataCache;
}

/**
 * What one training process keeps between its runs (a sweep's trials): the decoded image store of the last
 * file list and shape, and its training split's channel statistics, so a second trial on the same data decodes
 * and reads nothing. One entry: a sweep trains one dataset at one shape (or a few, alternating rarely).
 */
export class RunDataCache {
  private key = '';
  private store: ImageStore | null = null;
  private stats = new Map<string, { mean: number[]; std: number[] }>();

  get(key: string): ImageStore | null {
    return key === this.key ? this.store : null;
  }

  put(key: string, store: ImageStore): void {
    this.key = key;
    this.store = store;
    this.stats.clear();
  }

  async channelStats(key: string, store: ImageStore): Promise<{ mean: number[]; std: number[] }> {
    let s = this.stats.get(key);
    if (!s) {
      s = await store.channelStats();
      this.stats.set(key, s);
    }
    return s;
  }
}

function storeKey(items: DataItem[], inputSize: [number, number], channels: number): string {
  const h = createHash('sha256');
  h.update(`${inputSize.join('x')}x${channels}\n`);
  for (const i of items) h.update(`${i.id}\t${i.classIndex}\t${i.hash ?? ''}\t${i.path}\n`);
  return h.digest('hex');
}

function toItems(images: UsableImage[]): DataItem[] {
  return images.map((i) => ({ id: i.id, path: i.path, classIndex: i.classIndex, hash: i.hash }));
}

/** The run's data and network, or 'cancelled' when it was stopped while decoding or embedding. */
export function prepareRunData(c: RunDataContext): Promise<RunData | 'cancelled'> {
  return c.config.model.backbone ? embeddingData(c, c.config.model.backbone) : imageData(c);
}

async function imageData(c: RunDataContext): Promise<RunData | 'cancelled'> {
  const { services, config, ev, stop } = c;
  const db = services.db;
  const runId = c.run.id;
  const inputSize = config.model.inputSize as [number, number];
  const channels = config.model.channels as 1 | 3;
  // `trainOn: 'train+val'`: the val split trains too, and nothing is held out for validation.
  const both = config.trainOn === 'train+val';
  const train = toItems(listUsableImages(db, c.datasetId, { split: 'train' }));
  const val = toItems(listUsableImages(db, c.datasetId, { split: 'val' }));
  if (both) train.push(...val.splice(0));
  const test = toItems(listUsableImages(db, c.datasetId, { split: 'test' }));
  const all = [...train, ...val, ...test];
  // Before any decoding: refuse training that cannot fit the backend's memory, naming the knob (issue #11).
  const { checkTrainingMemory } = await import('./memory-estimate');
  const memory = checkTrainingMemory({
    backend: c.engine.backend,
    arch: config.model.arch,
    inputSize,
    channels,
    numClasses: c.classes.length,
    batchSize: config.batchSize,
    optimizer: config.optimizer,
    evalBatchSize: Math.min(Math.max(config.batchSize, 256), Math.max(val.length, test.length)),
  });
  // Evaluation in smaller batches when the usual ones would not fit (the estimate lowered it).
  const evalBatch = Math.max(1, memory.evalBatchSize || Math.max(config.batchSize, 256));
  const key = storeKey(all, inputSize, channels);
  const cached = c.cache?.get(key) ?? null;
  const store = cached ?? await ImageStore.build(all, {
    inputSize,
    channels,
    cacheDir: services.paths.cache,
    concurrency: 4,
    // A cancel during decoding stops it too.
    cancelled: stop,
    onProgress: (done, total) => ev.emit('train.progress', { runId, phase: 'decode', done, total, label: 'decoding images' }),
    // The run trains on the file list it took above; a rescan may have removed rows since (nothing to mark then).
    onCorrupt: (item, reason) => {
      const marked = markCorruptIfPresent(db, item.id, reason);
      ev.emit('train.warning', { runId, message: `left out ${item.path}: ${reason}${marked ? ' (marked corrupt)' : ''}` });
    },
    // A read error is no verdict on the image: reported, not marked, tried again by the next run.
    onReadError: (item, reason) => ev.emit('train.warning', { runId, message: `left out ${item.path}: ${reason} (not marked corrupt; the next run tries it again)` }),
    onWarning: (message) => ev.emit('train.warning', { runId, message }),
  });
  if (!cached && c.cache && !stop()) c.cache.put(key, store);
  // What the decode left out, by cause (item 7 of issue #11: files that vanished since the list was taken).
  const left = store.leftOut;
  ev.emit('train.data', { runId, images: store.items.length, decoded: cached ? 0 : store.decoded, ...left });
  if (left.vanished > 0) {
    ev.emit('train.warning', {
      runId,
      message: `left out ${left.vanished} image${left.vanished === 1 ? '' : 's'} vanished since run ${runId} listed its files (deleted, moved, or removed by a rescan)`,
    });
  }
  if (stop()) return 'cancelled';
  // Split the store by item id into train / val / test views sharing the pixels.
  const splitOf = new Map<number, 'train' | 'val' | 'test'>();
  for (const i of train) splitOf.set(i.id, 'train');
  for (const i of val) splitOf.set(i.id, 'val');
  for (const i of test) splitOf.set(i.id, 'test');
  const trainStore = store.subset((it) => splitOf.get(it.id) === 'train');
  const valStore = store.subset((it) => splitOf.get(it.id) === 'val');
  const testStore = store.subset((it) => splitOf.get(it.id) === 'test');
  if (trainStore.items.length === 0) throw new AppError('input', `dataset '${c.datasetName}' has no usable training images`);

  let pre: Preprocessing;
  if (c.run.preprocessing && c.resume) pre = c.run.preprocessing;
  else {
    const stats = c.cache ? await c.cache.channelStats(`${key}:${config.trainOn}`, trainStore) : await trainStore.channelStats();
    pre = { inputSize, channels, scale: PIXEL_SCALE, mean: stats.mean, std: stats.std, resize: 'fill' };
  }
  const net = buildNetwork({ arch: config.model.arch, inputSize, channels, numClasses: c.classes.length }, config.seed);
  if (config.mixup.manifold) checkManifoldLayers(net, config.mixup.manifold.layers);
  return {
    train: new BatchMaker(trainStore, pre, config.augment),
    val: valStore.items.length > 0 ? new BatchMaker(valStore, pre) : null,
    test: testStore.items.length > 0 ? new BatchMaker(testStore, pre) : null,
    pre,
    net,
    evalBatch,
    mixInputSize: inputSize,
  };
}

async function embeddingData(c: RunDataContext, backboneName: string): Promise<RunData | 'cancelled'> {
  const { services, config, ev, stop } = c;
  const db = services.db;
  const runId = c.run.id;
  const { cachedHashes, resolveBackbone } = await import('../backbones/repository');
  const { computeEmbeddings } = await import('../backbones/embed');
  const bb = resolveBackbone(db, backboneName);
  // A resumed run goes on with the features it started with: a backbone replaced under the same name would not give them.
  const started = c.run.preprocessing?.backbone;
  if (c.resume && started && started.sha256 !== bb.sha256) {
    throw new AppError('conflict', `run ${runId} started on backbone '${started.name}' with sha256 ${started.sha256.slice(0, 12)}…; the backbone of that name now is ${bb.sha256.slice(0, 12)}…: import the original file again to resume`);
  }
  const abort = new AbortController();
  const poll = setInterval(() => stop() && abort.abort(), 200);
  let result;
  try {
    result = await computeEmbeddings(services, c.datasetId, bb.id, {
      signal: abort.signal,
      onProgress: (done, total, label) => ev.emit('train.progress', { runId, phase: 'embed', done, total, label }),
    });
  } catch (err) {
    if (err instanceof AppError && err.kind === 'cancelled') return 'cancelled';
    throw err;
  } finally {
    clearInterval(poll);
  }
  for (const f of result.failed) ev.emit('train.warning', { runId, message: `left out ${f.path}: ${f.reason}` });
  ev.emit('train.embeddings', { runId, backbone: bb.name, computed: result.computed, cached: result.cached, dim: result.dim, seconds: result.seconds });
  if (stop()) return 'cancelled';
  // What trains: the usable images whose content has a vector now (one that could not be read or decoded has
  // none, and is left out with the warning above).
  const stored = cachedHashes(db, bb.id);
  const usable = listUsableImages(db, c.datasetId).filter((i) => i.hash && stored.has(i.hash));
  const embedded = (split: 'train' | 'val' | 'test') => usable.filter((i) => i.split === split).map((i) => ({ hash: i.hash, classIndex: i.classIndex }));
  const [train, val, test] = [embedded('train'), embedded('val'), embedded('test')];
  if (config.trainOn === 'train+val') train.push(...val.splice(0));
  ev.emit('train.data', { runId, images: train.length + val.length + test.length, decoded: result.computed, corrupt: result.failed.length, vanished: 0, unreadable: 0 });
  if (train.length === 0) throw new AppError('input', `dataset '${c.datasetName}' has no usable training images`);
  const source = (items: typeof train) => (items.length ? new EmbeddingBatches(db, bb.id, items, bb.featureSize) : null);
  const { layout, ...rest } = bb.preprocessing;
  const pre: Preprocessing = { ...rest, layout, backbone: { name: bb.name, format: bb.format, sha256: bb.sha256, featureSize: bb.featureSize } };
  const net = buildHeadNetwork({ featureSize: bb.featureSize, numClasses: c.classes.length, hidden: config.model.head.hidden }, config.seed);
  return { train: source(train)!, val: source(val), test: source(test), pre, net, evalBatch: Math.max(config.batchSize, 1024), mixInputSize: [1, 1] };
}

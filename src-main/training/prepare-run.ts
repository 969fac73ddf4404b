/**
 * Everything `runs:train` settles before a worker starts: for a new run, the config read and resolved against
 * the dataset (model shape defaults, model spec, manifold layers, the pair policy snapshot), then the run's row
 * and folders; for a resume, the checks that the run may continue. Errors name the config source and field.
 */
import { AppError } from '../core/errors';
import type { Services } from '../core/services';
import type { Db } from '../db/connection';
import { blockNamesFor, validateModelSpec } from '../config/model-spec';
import { resolveRunConfig, type RunConfig } from '../config/run-config';
import { configForDataset, datasetModelDefaults } from '../datasets/model-defaults';
import { getPolicy } from '../datasets/policy-repository';
import { curationCounts, datasetFingerprint, listClasses, listUsableImages, resolveDataset, type UsableImage } from '../datasets/repository';
import { fingerprintWarning, splitExportedConfig } from '../config/export-file';
import { policyMatrix, type PairPolicy } from '../mixup/pairing';
import { createRun, getRun, setRunPaths } from './runs-repository';

type PolicySnapshot = { pairs: { a: string; b: string; weight: number; note?: string | null }[] };

/** Whether two policy snapshots forbid and weigh the same pairs (order and notes aside). */
function samePolicy(a: PolicySnapshot, b: PolicySnapshot): boolean {
  const key = (p: PolicySnapshot) =>
    p.pairs
      .filter((x) => x.weight !== 1)
      .map((x) => (x.a < x.b ? `${x.a}\t${x.b}\t${x.weight}` : `${x.b}\t${x.a}\t${x.weight}`))
      .sort()
      .join('\n');
  return key(a) === key(b);
}

/** The run a resume continues, once it is known it may: same dataset, not running, not completed. */
export function prepareResume(db: Db, req: { run: number | string; dataset?: number | string; config?: unknown }): number {
  if (req.config !== undefined) throw new AppError('input', '--resume continues a run with its stored config; leave out --config');
  const run = getRun(db, req.run);
  if (req.dataset !== undefined) {
    const ds = resolveDataset(db, req.dataset);
    if (ds.id !== run.datasetId) throw new AppError('input', `run ${run.id} was trained on dataset '${run.datasetName}', not '${ds.name}'`);
  }
  if (run.status === 'running') throw new AppError('conflict', `run ${run.id} is already running (pid ${run.pid ?? 'unknown'})`);
  if (run.status === 'completed') throw new AppError('conflict', `run ${run.id} already completed; nothing to resume`);
  return run.id;
}

/** The config of a run from scratch: the model's input shape from the dataset where left open, the spec checked. */
function imageConfig(raw: RunConfig, train: UsableImage[], numClasses: number, source: string): RunConfig {
  const resolvedShape = configForDataset(raw, train);
  const inputSize = resolvedShape.model.inputSize;
  if (!inputSize) throw new AppError('input', `${source}: model.inputSize: the dataset's image sizes are unknown; set it`);
  // A config that names its input size still takes the dataset's channels when it leaves them open.
  const channels = resolvedShape.model.channels ?? datasetModelDefaults(train).channels;
  const config = { ...resolvedShape, model: { ...resolvedShape.model, inputSize, channels } };
  // Model spec checked here, before any run exists.
  try {
    validateModelSpec({ arch: config.model.arch, inputSize, channels: config.model.channels, numClasses });
  } catch (err) {
    throw new AppError('input', `${source}: ${(err as Error).message}`);
  }
  return config;
}

/**
 * The config of a run on a pretrained backbone: the backbone must be imported, its input shape is the model's,
 * and what cannot apply to a frozen backbone's fixed embeddings is refused naming the field.
 */
export async function backboneConfig(db: Db, raw: RunConfig, source: string): Promise<RunConfig> {
  const { findBackbone, listBackbones } = await import('../backbones/repository');
  const name = raw.model.backbone!;
  const bb = findBackbone(db, name);
  if (!bb) {
    const names = listBackbones(db).map((b) => b.name);
    throw new AppError('input', `${source}: model.backbone: '${name}' is not imported (${names.length ? `imported: ${names.join(', ')}` : 'import one with `backbone import PATH --name NAME`'})`);
  }
  const refuse = (field: string, why: string) => new AppError('input', `${source}: ${field}: ${why}`);
  if (raw.model.fineTune !== 'none') throw refuse('model.fineTune', `backbone '${bb.name}' is ${bb.format}: only a tfjs layers backbone can be fine-tuned; an ONNX backbone trains frozen ('none')`);
  if (raw.mixup.manifold) throw refuse('mixup.manifold', 'with a frozen backbone MixUp mixes its embeddings (the features point); mixing the images, [0], is not supported yet: leave it null');
  if (raw.mixup.cutmixAlpha > 0) throw refuse('mixup.cutmixAlpha', 'CutMix cuts boxes out of images; a frozen backbone trains on its embeddings, where there is no box to cut: set it to 0');
  if (raw.augment.flip || raw.augment.padCrop > 0) {
    throw refuse(raw.augment.flip ? 'augment.flip' : 'augment.padCrop', "a frozen backbone's embeddings are computed once per image, so per-epoch augmentation cannot reach them: turn it off");
  }
  const { inputSize, channels } = bb.preprocessing;
  for (const [field, given, wanted] of [['model.inputSize', raw.model.inputSize, inputSize], ['model.channels', raw.model.channels, channels]] as const) {
    if (given !== null && JSON.stringify(given) !== JSON.stringify(wanted)) {
      throw refuse(field, `backbone '${bb.name}' takes ${JSON.stringify(wanted)}, not ${JSON.stringify(given)} (leave it null)`);
    }
  }
  return { ...raw, model: { ...raw.model, inputSize, channels } };
}

/** A new run's config, resolved against its dataset and checked, before any row exists. */
export interface ResolvedNewRun {
  datasetId: number;
  datasetName: string;
  classes: string[];
  fingerprint: string;
  /** The run config as stored: resolved, with its policy snapshot and dataset reference. */
  config: Omit<RunConfig, 'policy' | 'dataset'> & { policy: PairPolicy; dataset: Record<string, unknown> };
}

/**
 * Resolves and checks a new run's config against the dataset (everything `prepareNewRun` refuses, it refuses
 * here, naming the config source and field) without writing anything: a sweep checks every trial's config
 * with it before the first trial starts. `warn` hears what the user should know.
 */
export async function resolveNewRun(
  services: Services,
  req: { dataset?: number | string; config?: unknown; configSource?: string },
  warn: (message: string) => void,
): Promise<ResolvedNewRun> {
  const db = services.db;
  if (req.dataset === undefined) throw new AppError('input', 'DATASET: name the dataset to train on');
  if (req.config === undefined) throw new AppError('input', '--config: a run config file is required (see `mixup-studio config schema`)');
  const source = req.configSource ?? 'config';
  // An export's config.json carries `preprocessing` and `provenance` beside the run config: set them aside.
  const raw = resolveRunConfig(splitExportedConfig(req.config).config, source);
  const ds = resolveDataset(db, req.dataset);
  const drift = fingerprintWarning(req.config, { name: ds.name, fingerprint: datasetFingerprint(db, ds.id) }, source);
  if (drift) warn(drift);
  // An export's config.json names the backbone file it was trained on: a different file under that name is said.
  const exported = splitExportedConfig(req.config).provenance?.backbone;
  if (exported && raw.model.backbone === exported.name) {
    const { findBackbone } = await import('../backbones/repository');
    const now = findBackbone(db, exported.name);
    if (now && now.sha256 !== exported.sha256) {
      warn(`backbone '${exported.name}' is not the file ${source} was trained on (sha256 ${now.sha256.slice(0, 12)}… ≠ ${exported.sha256.slice(0, 12)}…): the run will not reproduce`);
    }
  }
  const classes = listClasses(db, ds.id).map((c) => c.name);
  if (classes.length < 2) throw new AppError('input', `dataset '${ds.name}' has ${classes.length} class(es); a classifier needs at least 2`);
  const train = listUsableImages(db, ds.id, { split: 'train' });
  if (train.length === 0) throw new AppError('input', `dataset '${ds.name}' has no usable images in its training split`);
  const config = raw.model.backbone ? await backboneConfig(db, raw, source) : imageConfig(raw, train, classes.length, source);
  if (config.mixup.manifold) {
    const names = blockNamesFor(config.model.arch).slice(0, -1);
    for (const l of config.mixup.manifold.layers) {
      if (!names.includes(l)) {
        throw new AppError('input', `${source}: mixup.manifold.layers: '${l}' is not a block of ${config.model.arch} whose output can be mixed (one of ${names.join(', ')})`);
      }
    }
  }
  const current: PairPolicy = { pairs: getPolicy(db, ds.id).pairs.map(({ a, b, weight, note }) => ({ a, b, weight, note })) };
  let policy = current;
  if (config.policy) {
    try {
      policyMatrix(classes, config.policy);
    } catch (err) {
      throw new AppError('input', `${source}: policy: ${(err as Error).message}`);
    }
    policy = { pairs: config.policy.pairs.map(({ a, b, weight, note }) => ({ a, b, weight, note: note ?? null })) };
    if (!samePolicy(policy, current)) {
      warn(`using the pair policy snapshot in ${source} (${policy.pairs.length} pairs), which differs from dataset '${ds.name}''s current policy (${current.pairs.length} pairs)`);
    }
  }
  const fingerprint = datasetFingerprint(db, ds.id);
  // What curation changed in the file list (CLI.md: a run says what it trained on): relabelled and excluded images.
  const resolved = { ...config, policy, dataset: { name: ds.name, id: ds.id, fingerprint, ...curationCounts(db, ds.id) } };
  return { datasetId: ds.id, datasetName: ds.name, classes, fingerprint, config: resolved };
}

/**
 * A new run's row, with its config resolved against the dataset and its folders set; `warn` hears what the
 * user should know (the dataset changed since an exported config, a policy snapshot that differs).
 */
export async function prepareNewRun(
  services: Services,
  req: { dataset?: number | string; config?: unknown; configSource?: string },
  warn: (message: string) => void,
): Promise<number> {
  const db = services.db;
  const r = await resolveNewRun(services, req, warn);
  const runId = createRun(db, {
    datasetId: r.datasetId,
    datasetName: r.datasetName,
    config: r.config,
    epochsPlanned: r.config.epochs,
    classes: r.classes,
    datasetFingerprint: r.fingerprint,
    pid: process.pid,
  });
  const { runFolders } = await import('./train-run');
  const f = runFolders(services, runId);
  setRunPaths(db, runId, f.checkpointDir, f.modelDir);
  return runId;
}

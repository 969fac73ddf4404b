/**
 * The run config (CLI.md "Run config"): one JSON object that says everything a training run does.
 * Strict (an unknown key is an error naming its dotted path), every field defaulted, validated with zod 4;
 * `runConfigJsonSchema()` gives the JSON Schema that `mixup-studio config schema` prints.
 */
import { z } from 'zod';
import { AppError } from '../core/errors';
import { checkJsonDepth } from '../core/json-text';
import { ARCHS, blockNamesFor } from './model-spec';

const nonNegative = (what: string) => z.number({ error: `must be a number (${what})` }).finite().min(0, `must be ≥ 0`);
const unit = z.number().finite().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1');
const epochIndex = z.number().int('must be a whole epoch number').min(0, 'must be ≥ 0 (epochs are 0-based)');

/**
 * A ramp of one knob (α or prob) over epochs, as a factor of the knob's configured value. Up to
 * `startEpoch` the factor is `startFactor`, from `endEpoch` on it is `endFactor`, in between it follows
 * `kind`: `linear`, or `cosine` (half-cosine ease). `constant` holds `endFactor` at every epoch.
 * Ramp in: `{kind: 'linear', startEpoch: 0, endEpoch: 5}` (0 → 1); ramp out: `{startFactor: 1, endFactor: 0, ...}`.
 */
export const rampSchema = z
  .strictObject({
    kind: z.enum(['constant', 'linear', 'cosine']).default('linear'),
    startEpoch: epochIndex.default(0),
    endEpoch: epochIndex.default(5),
    startFactor: nonNegative('startFactor').default(0),
    endFactor: nonNegative('endFactor').default(1),
  })
  .refine((r) => r.kind === 'constant' || r.endEpoch > r.startEpoch, {
    message: 'must be greater than startEpoch',
    path: ['endEpoch'],
  });

export const manifoldSchema = z.strictObject({
  /** Names of the model's blocks whose output may be mixed (one is drawn per batch). */
  layers: z.array(z.string().min(1)).min(1, 'name at least one layer'),
  /** Whether the input itself is one of the candidate mixing points (as in Manifold Mixup). */
  includeInput: z.boolean().default(true),
});

/** Manifold MixUp points as block indices: 0 is the input, k ≥ 1 the output of block k (see `blockNamesFor`). */
export const manifoldIndicesSchema = z
  .array(z.number().int('must be an integer').min(0, 'must be ≥ 0'))
  .min(1, 'name at least one block index');

export const mixupSchema = z
  .strictObject({
    /** Beta(α, α) concentration for MixUp; 0 = MixUp off (CutMix may still run). */
    alpha: nonNegative('alpha').default(0.2),
    /** `batch`: one λ per batch; `elem`: one per sample; `pair`: one per symmetric pair. */
    mode: z.enum(['batch', 'elem', 'pair']).default('batch'),
    /** Probability that a batch (batch mode) or a sample (elem/pair mode) is mixed at all. */
    prob: unit.default(1),
    /** Beta(α, α) concentration for CutMix; 0 = CutMix off. */
    cutmixAlpha: nonNegative('cutmixAlpha').default(0),
    /** With both alpha and cutmixAlpha > 0: the probability a batch / sample uses CutMix (timm). */
    switchProb: unit.default(0.5),
    /** Label smoothing ε applied to the one-hot targets before they are mixed. */
    labelSmoothing: z.number().finite().min(0, 'must be ≥ 0').lt(1, 'must be < 1').default(0),
    /** First epoch (0-based) with MixUp off; null = never off (timm's mixup-off-epoch). */
    offEpoch: epochIndex.nullable().default(null),
    /**
     * Manifold MixUp: mix hidden activations of one of these layers instead of the input; null = input only.
     * Either `{layers: [block names], includeInput}` or a list of block indices (0 = the input, k = the output of
     * the model's k-th block), as in the Manifold Mixup paper; indices are resolved to names for the model.
     */
    manifold: z.union([manifoldIndicesSchema, manifoldSchema]).nullable().default(null),
    /** fastai-style: use λ = max(λ, 1 − λ), so each sample keeps most of its own image. */
    lambdaMax: z.boolean().default(false),
    /** Whether label smoothing stays on in the epochs where MixUp is switched off by offEpoch. */
    smoothingAfterOff: z.boolean().default(true),
    /** Ramp of α over epochs: a factor on both alpha and cutmixAlpha. null = no ramp. */
    alphaRamp: rampSchema.nullable().default(null),
    /** Ramp of prob over epochs: a factor on prob (the result is capped at 1). null = no ramp. */
    probRamp: rampSchema.nullable().default(null),
  });

export const modelSchema = z.strictObject({
  arch: z.enum(ARCHS).default('cnn-small'),
  /** [height, width]; null = the dataset's most common image size. */
  inputSize: z
    .tuple([z.number().int().min(8, 'must be ≥ 8').max(1024, 'must be ≤ 1024'), z.number().int().min(8, 'must be ≥ 8').max(1024, 'must be ≤ 1024')])
    .nullable()
    .default(null),
  /** 1 (grey) or 3 (RGB); null = 1 when every training image is grey, else 3. */
  channels: z.union([z.literal(1), z.literal(3)], { error: 'must be 1 or 3' }).nullable().default(null),
  /**
   * A pretrained backbone by name (`backbone import`); null = train `arch` from scratch. With one, `inputSize`
   * and `channels` are the backbone's, and a head trains on its cached embeddings (MixUp at the `features` point).
   */
  backbone: z.string().min(1, 'name a backbone, or null').nullable().default(null),
  /** `none`: the backbone is frozen; `all` or N: its last N layers train too (tfjs layers backbones). */
  fineTune: z.union([z.literal('none'), z.literal('all'), z.number().int('must be a whole number of layers').min(1, 'must be ≥ 1')], { error: "must be 'none', 'all' or a number of layers" }).default('none'),
  /** The head on a backbone's features: a hidden ReLU layer of `hidden` units before the classifier (0 = none, a linear probe). */
  head: z.strictObject({ hidden: z.number().int('must be a whole number').min(0, 'must be ≥ 0').max(8192, 'must be ≤ 8192').default(0) }).prefault({}),
});

export const optimizerSchema = z.strictObject({
  name: z.enum(['adam', 'sgd']).default('adam'),
  lr: z.number().finite().gt(0, 'must be > 0').default(0.001),
  weightDecay: nonNegative('weightDecay').default(0),
  schedule: z.enum(['constant', 'step', 'cosine']).default('constant'),
  /** SGD momentum (ignored by Adam). */
  momentum: unit.default(0.9),
  nesterov: z.boolean().default(false),
  /** Epochs of linear learning-rate warm-up from lr/10 to lr. */
  warmupEpochs: z.number().int().min(0, 'must be ≥ 0').default(0),
  /** `step` schedule: multiply lr by `gamma` every `stepEpochs` epochs. */
  stepEpochs: z.number().int().min(1, 'must be ≥ 1').default(10),
  gamma: z.number().finite().gt(0, 'must be > 0').max(1, 'must be ≤ 1').default(0.1),
});

export const augmentSchema = z.strictObject({
  flip: z.boolean().default(false),
  /** Pixels of zero padding before a random crop back to inputSize; 0 = off. */
  padCrop: z.number().int().min(0, 'must be ≥ 0').default(0),
});

export const policyPairSchema = z.strictObject({
  a: z.string().min(1),
  b: z.string().min(1),
  weight: unit,
  note: z.string().nullable().default(null),
  updatedAt: z.string().optional(),
});

/** A snapshot of a dataset's pair policy: the pairs not at the default weight 1, by class name. */
export const pairPolicySchema = z.strictObject({
  pairs: z.array(policyPairSchema).default([]),
});

export const datasetRefSchema = z.strictObject({
  name: z.string().optional(),
  id: z.number().int().optional(),
  fingerprint: z.string().optional(),
  /** Usable images whose class the user corrected (curation), when the run started. */
  relabelled: z.number().int().min(0).optional(),
  /** Images the user excluded, when the run started. */
  excluded: z.number().int().min(0).optional(),
});

export const runConfigSchema = z.strictObject({
  seed: z.number().int('must be an integer').min(0, 'must be ≥ 0').max(2 ** 32 - 1, 'must be < 2^32').default(0),
  epochs: z.number().int('must be an integer').min(1, 'must be ≥ 1').max(100000).default(10),
  batchSize: z.number().int('must be an integer').min(1, 'must be ≥ 1').max(65536).default(64),
  /**
   * What trains: `train` (the training split; val measures), or `train+val` (both, for the final model once a
   * config is chosen, e.g. a sweep's best: no validation metrics then).
   */
  trainOn: z.enum(['train', 'train+val']).default('train'),
  model: modelSchema.prefault({}),
  optimizer: optimizerSchema.prefault({}),
  augment: augmentSchema.prefault({}),
  mixup: mixupSchema.prefault({}),
  /** The pair policy in force (a run stores the snapshot it used); null = the dataset's current policy. */
  policy: pairPolicySchema.nullable().default(null),
  /** The dataset this config was resolved against (fingerprint for reproduce); null = any. */
  dataset: datasetRefSchema.nullable().default(null),
});

type ParsedRunConfig = z.output<typeof runConfigSchema>;
export type ManifoldConfig = z.output<typeof manifoldSchema>;
/** The resolved run config: as parsed, with Manifold MixUp block indices turned into block names. */
export type RunConfig = Omit<ParsedRunConfig, 'mixup'> & {
  mixup: Omit<ParsedRunConfig['mixup'], 'manifold'> & { manifold: ManifoldConfig | null };
};
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type MixupConfig = RunConfig['mixup'];
export type Ramp = z.output<typeof rampSchema>;
export type PairPolicySnapshot = z.output<typeof pairPolicySchema>;

interface IssueLike {
  code?: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  /** invalid_union: the issues of each alternative, paths relative to the union. */
  errors?: IssueLike[][];
}

/**
 * A union (e.g. `mixup.manifold`: indices or `{layers}`) failed: report the alternative the value was meant
 * for, i.e. the one whose complaint is not about the value's type itself, with full paths.
 */
function unionIssues(issue: IssueLike): IssueLike[] {
  const branches = issue.errors ?? [];
  const atRoot = (i: IssueLike) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value');
  const meant = branches.find((b) => b.length > 0 && !b.some(atRoot));
  // Every alternative rejects the value outright (e.g. `channels: 2` for 1 | 3): the union's own message says it.
  if (!meant) return [issue];
  return meant.flatMap((i) => {
    const full = { ...i, path: [...issue.path, ...i.path] };
    return full.code === 'invalid_union' ? unionIssues(full) : [full];
  });
}

function dotted(path: PropertyKey[]): string {
  return path.map(String).join('.');
}

/** ` (got -1)` for a value at fault: a scalar or a list, cut short (a message names the value, never a whole document). */
function shownValue(v: unknown): string {
  if (v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v))) return '';
  const text = JSON.stringify(v) ?? String(v);
  return ` (got ${text.length > 80 ? `${text.slice(0, 77)}…` : text})`;
}

/** One line naming every field at fault, e.g. `mixup.alpha: must be ≥ 0 (got -1)`. */
export function describeConfigIssues(issues: IssueLike[], raw: unknown): string {
  return issues
    .flatMap((issue) => (issue.code === 'invalid_union' ? unionIssues(issue) : [issue]))
    .map((issue) => {
      if (issue.code === 'unrecognized_keys' && issue.keys) {
        return issue.keys.map((k) => `${dotted([...issue.path, k])}: unknown key`).join('; ');
      }
      const field = dotted(issue.path) || '(config)';
      let v: unknown = raw;
      for (const p of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
      // JSON.parse turns 1e999 into Infinity, which JSON.stringify would show as null.
      if (typeof v === 'number' && !Number.isFinite(v)) return `${field}: must be a finite number (got a number too large to represent)`;
      return `${field}: ${issue.message}${shownValue(v)}`;
    })
    .join('; ');
}

/** Validates and fills defaults; throws AppError('input', 'mixup.alpha: must be ≥ 0 (got -1)') naming the field. */
export function resolveRunConfig(raw: unknown, source = 'run config'): RunConfig {
  // Left out = every default; `null` is a document that says nothing a run could use: refused.
  if (raw === undefined) raw = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError('input', `${source}: a run config must be a JSON object`);
  }
  // Before zod and the messages below walk it: they recurse, and would overflow on a 100,000-deep value.
  checkJsonDepth(raw, source);
  const res = runConfigSchema.safeParse(raw);
  if (!res.success) {
    throw new AppError('input', `${source}: ${describeConfigIssues(res.error.issues as IssueLike[], raw)}`);
  }
  const { manifold } = res.data.mixup;
  if (!Array.isArray(manifold)) return res.data as RunConfig;
  return { ...res.data, mixup: { ...res.data.mixup, manifold: manifoldFromIndices(manifold, res.data.model.arch, source) } };
}

/** `[0, 2]` → `{layers: [name of block 2], includeInput: true}` for the model's architecture. */
function manifoldFromIndices(indices: number[], arch: string, source: string): ManifoldConfig {
  // Every block but the last (the logits) has an output that can be mixed.
  const mixable = blockNamesFor(arch).slice(0, -1);
  const layers: string[] = [];
  for (const [i, k] of indices.entries()) {
    if (k > mixable.length) {
      throw new AppError(
        'input',
        `${source}: mixup.manifold[${i}]: ${arch} has no block ${k} whose output can be mixed (0 = the input, 1–${mixable.length} = ${mixable.join(', ')})`,
      );
    }
    if (k > 0 && !layers.includes(mixable[k - 1]!)) layers.push(mixable[k - 1]!);
  }
  const includeInput = indices.includes(0);
  if (layers.length === 0) {
    throw new AppError('input', `${source}: mixup.manifold: name at least one hidden block (index ≥ 1); [0] alone is plain input MixUp`);
  }
  return { layers, includeInput };
}

/** The JSON Schema of the run config (draft 2020-12), as users write it (defaults shown, nothing required). */
export function runConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(runConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    title: 'MixUp Studio run config',
    description: 'The JSON run config of `mixup-studio train --config FILE` and `mixup preview`. Unknown keys are errors; every field has a default.',
  };
}

/** The default config (every field at its default). */
export function defaultRunConfig(): RunConfig {
  return resolveRunConfig({});
}

/**
 * Fills the fields whose default depends on the dataset (`model.inputSize`, `model.channels`).
 * `stats` are the dataset's most common training image size and whether every image is grey.
 */
export function withDatasetDefaults(
  config: RunConfig,
  stats: { inputSize: [number, number]; channels: 1 | 3 },
): RunConfig & { model: { inputSize: [number, number]; channels: 1 | 3 } } {
  return {
    ...config,
    model: {
      ...config.model,
      inputSize: config.model.inputSize ?? stats.inputSize,
      channels: config.model.channels ?? stats.channels,
    },
  };
}

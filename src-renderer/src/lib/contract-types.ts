/**
 * The shapes of the operation outputs the screens read (CLI.md and the ops files in src-main/api/ops).
 * Declared here, for the page only, so the renderer bundle imports nothing from the Node side.
 * Fields the screens can live without are optional: an op that adds fields never breaks a screen.
 */

export type Split = 'train' | 'val' | 'test';

export interface DatasetSummary {
  id: number;
  name: string;
  root: string;
  images: number;
  classes: number;
  corrupt?: number;
  createdAt?: string;
  updatedAt?: string;
  verified?: boolean | number | string | null;
}

export interface PathReason {
  path: string;
  reason: string;
}

export interface DuplicateGroup {
  hash: string;
  paths: string[];
  classes: string[];
}

export interface ClassStats {
  name: string;
  count: number;
  splits?: Partial<Record<Split, number>>;
}

export interface DatasetDetail {
  dataset: { id: number; name: string; root: string };
  images: number;
  classes: ClassStats[];
  splits?: Partial<Record<Split, number>>;
  corrupt: PathReason[];
  skipped: PathReason[];
  duplicates: DuplicateGroup[];
  excluded?: PathReason[];
}

export interface IndexDoc {
  dataset: { id: number; name: string; root: string };
  images: number;
  classes: ClassStats[];
  corrupt: PathReason[];
  skipped: PathReason[];
  duplicates: DuplicateGroup[];
  added?: number;
  removed?: number;
  changed?: number;
  unchanged?: number;
  seconds?: number;
}

export interface GalleryImage {
  id: number;
  path: string;
  class: string;
  split?: Split;
  /** null until the scan could read a header (a corrupt file). */
  width?: number | null;
  height?: number | null;
  status?: string;
  excludedReason?: string | null;
}

export interface ImagesPage {
  /** null when the page was asked for `withTotal: false`. */
  total: number | null;
  items: GalleryImage[];
}

export interface Progress {
  done: number;
  total: number;
  label?: string;
  etaSeconds?: number;
}

export interface PolicyPair {
  a: string;
  b: string;
  weight: number;
  note?: string | null;
  updatedAt?: string;
}

export interface PolicyMatrixDoc {
  classes: string[];
  pairs: PolicyPair[];
}

export interface PreviewEpoch {
  epoch: number;
  active: boolean;
  alpha: number;
  prob: number;
  mixedSamples: number;
  unmixedSamples: number | { policy?: number; prob?: number; schedule?: number; [k: string]: number | undefined };
  pairs: { a: string; b: string; count: number }[];
  lambdas?: number[];
  samples?: number;
  /** Class names, index-aligned with `labelClassMass` (share of the epoch's samples per class). */
  classes?: string[];
  labelClassMass?: number[];
  targetClassMass?: number[];
}

export interface PreviewDoc {
  epochs: PreviewEpoch[];
}

export interface MixupConfig {
  alpha: number;
  mode: 'batch' | 'elem' | 'pair';
  prob: number;
  cutmixAlpha: number;
  switchProb: number;
  labelSmoothing: number;
  offEpoch: number | null;
  manifold: unknown;
  [k: string]: unknown;
}

export interface RunConfig {
  seed: number;
  epochs: number;
  batchSize: number;
  model: { arch: string; inputSize: [number, number]; channels: number; [k: string]: unknown };
  optimizer: { name: string; lr: number; weightDecay: number; schedule: string; [k: string]: unknown };
  augment: { flip: boolean; padCrop: number; [k: string]: unknown };
  mixup: MixupConfig;
  [k: string]: unknown;
}

export interface RunMetrics {
  valAccuracy?: number | null;
  valLoss?: number | null;
  ece?: number | null;
  nll?: number | null;
}

export interface EpochRow {
  epoch: number;
  trainLoss?: number | null;
  valLoss?: number | null;
  valAccuracy?: number | null;
  ece?: number | null;
  nll?: number | null;
  lr?: number | null;
  seconds?: number | null;
  mixup?: { active: boolean; alpha: number; prob: number };
}

export interface EpochAudit {
  epoch?: number;
  samples?: number;
  active?: boolean;
  alpha?: number;
  prob?: number;
  mixedSamples?: number;
  unmixedSamples?: number | Record<string, number>;
  pairs?: { a: string; b: string; count: number }[];
  lambdas?: number[];
  lambdaHistogram?: number[] | { bins?: number[]; counts?: number[]; edges?: number[] };
  targetClassMass?: number[];
}

export interface RunSummary {
  id: number;
  dataset: string | { id?: number; name?: string };
  datasetId?: number | null;
  status: string;
  createdAt?: string;
  finishedAt?: string | null;
  backend?: string | null;
  arch?: string | null;
  epochs?: number;
  metrics?: RunMetrics | null;
}

export interface RunDetail {
  run: { id: number; [k: string]: unknown };
  status: string;
  backend?: string;
  epochs: EpochRow[];
  metrics?: RunMetrics | null;
  config?: RunConfig;
  classes?: string[];
  perClassAccuracy?: Record<string, number>;
  confusion?: number[][];
  audit?: EpochAudit[];
  [k: string]: unknown;
}

export interface TrainProgress {
  runId: number;
  epoch: number;
  batch: number;
  batches: number;
  done: number;
  total: number;
  etaSeconds?: number;
  trainLoss?: number;
  phase?: string;
  label?: string;
}

export interface CompareDoc {
  runs: { id: number }[] | number[];
  configDiff: { key: string; values: unknown[] }[];
  metrics: unknown;
  curves: unknown;
  perClass?: unknown;
}

export interface ExportDoc {
  out: string;
  files: (string | { path: string; bytes?: number; size?: number })[];
  formats: string[];
}

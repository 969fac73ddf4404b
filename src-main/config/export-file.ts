/**
 * `config.json` of an export: the run's resolved config (every RunConfig key, the pair-policy snapshot in
 * `policy`, the dataset reference with its fingerprint in `dataset`) plus two reserved top-level sections
 * that are not run settings:
 * - `preprocessing`: how to turn an image into the model input (CLI.md), with `onnxLayout`;
 * - `provenance`: where the model came from (run id, backend, dataset fingerprint, file-list hash, …).
 * `splitExportedConfig` separates them again, so `train --config DIR/config.json` can take the file.
 */
import { createHash } from 'node:crypto';
import type { Preprocessing } from './preprocessing';

export const EXPORT_RESERVED_KEYS = ['preprocessing', 'provenance'] as const;

export interface ExportPreprocessing extends Preprocessing {
  /** Input layout of model.onnx: NHWC, the same [batch, h, w, c] tensor the tfjs model takes. */
  onnxLayout: 'NHWC' | 'NCHW';
}

export interface ExportProvenance {
  format: 'mixup-studio.export';
  version: 1;
  run: number;
  status: string;
  dataset: string;
  backend: string | null;
  device: string | null;
  createdAt: string;
  finishedAt: string | null;
  exportedAt: string;
  appVersion: string;
  /** The dataset fingerprint the run trained on (sorted usable files, classes, splits, content hashes). */
  datasetFingerprint: string | null;
  /** sha256 of the indexed file list the run trained on (`relPath\tclass\tsplit\n`, sorted); null when the dataset changed since. */
  fileListHash: string | null;
  fileCount: number | null;
  labels: string[];
  metrics: unknown;
  /** The pretrained backbone the run's head was trained on. */
  backbone?: { name: string; format: string; sha256: string };
}

export interface ExportedConfigFile extends Record<string, unknown> {
  preprocessing: ExportPreprocessing;
  provenance: ExportProvenance;
}

/** Splits an exported config.json into the run config and its reserved sections (absent ones → undefined). */
export function splitExportedConfig(raw: unknown): {
  config: unknown;
  preprocessing?: ExportPreprocessing;
  provenance?: ExportProvenance;
} {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { config: raw };
  const { preprocessing, provenance, ...config } = raw as Record<string, unknown>;
  return {
    config,
    preprocessing: preprocessing as ExportPreprocessing | undefined,
    provenance: provenance as ExportProvenance | undefined,
  };
}

/** The hash of an indexed file list (order-independent: rows are sorted first). */
export function fileListHash(files: { relPath: string; className: string; split: string }[]): string {
  const rows = files.map((f) => `${f.relPath}\t${f.className}\t${f.split}\n`).sort();
  const h = createHash('sha256');
  for (const r of rows) h.update(r);
  return h.digest('hex');
}

/**
 * The warning `train --config DIR/config.json` should print when the dataset is no longer the one the run
 * was trained on (its fingerprint differs from the config's `dataset.fingerprint`); null when it matches
 * or the config names no fingerprint.
 */
export function fingerprintWarning(config: unknown, dataset: { name: string; fingerprint: string }, source = 'config'): string | null {
  const ref = config && typeof config === 'object' ? (config as { dataset?: { fingerprint?: unknown; name?: unknown } | null }).dataset : undefined;
  const expected = ref && typeof ref.fingerprint === 'string' ? ref.fingerprint : null;
  if (expected === null || expected === dataset.fingerprint) return null;
  return `dataset '${dataset.name}' differs from the one ${source} was exported from (fingerprint ${dataset.fingerprint.slice(0, 12)}… ≠ ${expected.slice(0, 12)}…): the run will not reproduce exactly`;
}

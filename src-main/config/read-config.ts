/**
 * The one way a run config is read, for every front end (CLI, serve, IPC): a file goes through
 * `core/user-files` (a regular file below the cap, bounded read, JSON errors that quote nothing), and any
 * document, from a file or a request, goes through `runConfigFromDocument`: an export's `config.json` has its
 * `preprocessing` and `provenance` sections set aside before the run config is validated, so the documented
 * `train DATASET --config EXPORT/config.json` works.
 */
import { resolve } from 'node:path';
import { AppError } from '../core/errors';
import { CONFIG_MAX_BYTES, parseJsonText, readUserText } from '../core/user-files';
import { splitExportedConfig, type ExportPreprocessing, type ExportProvenance } from './export-file';
import { resolveRunConfig, type RunConfig } from './run-config';

export interface ConfigDocument {
  /** The validated run config, defaults filled. */
  config: RunConfig;
  /** An export's sections, when the document is an export's config.json. */
  preprocessing?: ExportPreprocessing;
  provenance?: ExportProvenance;
}

/** Validates a run-config document (a plain config or an export's config.json); errors name `source` and the field. */
export function runConfigFromDocument(doc: unknown, source = 'config'): ConfigDocument {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new AppError('input', `${source}: a run config must be a JSON object`);
  }
  const { config, preprocessing, provenance } = splitExportedConfig(doc);
  return { config: resolveRunConfig(config, source), preprocessing, provenance };
}

/**
 * Reads and checks a run-config file. `raw` is the document as written (export sections included: the
 * operations set them aside again, and use the dataset reference for the "dataset changed" warning).
 */
export function readRunConfigFile(file: string): { raw: unknown; config: RunConfig; path: string } & ConfigDocument {
  const path = resolve(file);
  const raw = parseJsonText(readUserText(path, { what: 'config', maxBytes: CONFIG_MAX_BYTES }), path);
  return { raw, path, ...runConfigFromDocument(raw, path) };
}

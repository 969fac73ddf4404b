/**
 * `runs:export`: writes a trained run as a folder other tools can use (CLI.md "Compare, export, predict"):
 * `tfjs/model.json` + `tfjs/weights.bin`, `model.onnx`, `labels.json`, `config.json`, `report.html`.
 * The folder is written under a temporary name next to DIR and renamed into place at the end, so a failed or
 * cancelled export leaves nothing half-written (a killed one leaves a hidden `.partial` folder, which the next
 * export beside it removes). DIR must not exist or be an empty folder, and is never a symbolic link.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError, throwIfCancelled } from '../core/errors';
import type { Services } from '../core/services';
import { processRunning } from '../core/temp-files';
import { checkPathText } from '../core/user-files';
import { APP_VERSION } from '../core/version';
import type { RunInfo } from '../training/runs-repository';
import { fileListHash, type ExportPreprocessing, type ExportProvenance } from '../config/export-file';

export const EXPORT_FORMATS = ['tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportResult {
  out: string;
  run: number;
  formats: ExportFormat[];
  files: { path: string; bytes: number }[];
  warnings: string[];
}

/**
 * Throws unless `out` is absent or an empty folder. A symbolic link is refused, dangling or not: the export
 * would land wherever it points (CLI.md: DIR is created, or may exist and be empty).
 */
export function checkOutDir(out: string, flag = '--out'): void {
  let st;
  try {
    st = lstatSync(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new AppError('io', `${flag} ${out}: cannot be checked (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (st.isSymbolicLink()) throw new AppError('input', `${flag} ${out}: is a symbolic link; name the folder itself (links are not followed)`);
  if (!st.isDirectory()) throw new AppError('conflict', `${flag} ${out}: exists and is not a folder`);
  const entries = readdirSync(out);
  if (entries.length > 0) {
    throw new AppError('conflict', `${flag} ${out}: folder is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. '${entries[0]}'); choose a new or empty folder`);
  }
}

/**
 * The hidden temp folder an export writes before it is renamed to DIR: `.NAME.partial-PID-MS`, beside DIR.
 * A kill leaves one behind; the next export into the same parent removes those (any NAME) whose PID is dead.
 */
const PARTIAL = /^\..+\.partial-([1-9]\d{0,9})-(\d{10,16})$/;

function partialName(target: string): string {
  return `.${basename(target)}.partial-${process.pid}-${Date.now()}`;
}

/**
 * Removes stale `.partial` folders in `parent`: only real folders (never a link, never a file) whose name is
 * ours exactly and whose owner process is gone; ours and live ones are exports in progress. Best effort: a
 * folder that cannot be removed now is left for the next export.
 */
export function removeStalePartials(parent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processRunning(pid)) continue;
    const p = join(parent, name);
    try {
      if (!lstatSync(p).isDirectory()) continue;
      rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch {
      // Gone meanwhile, or not removable now: the next export tries again.
    }
  }
  return removed;
}

/**
 * Writes into a fresh sibling temp folder via `write`, then moves it to `out`; the temp folder is removed
 * on failure, and stale ones of killed exports beside `out` first. Returns the files written (paths relative
 * to out, sorted).
 */
export async function writeFolderAtomically(out: string, write: (dir: string) => Promise<void>): Promise<{ path: string; bytes: number }[]> {
  // A NUL byte or an over-long name is a mistake naming --out, not an errno.
  const target = checkPathText(out, '--out');
  const parent = dirname(target);
  removeStalePartials(parent);
  checkOutDir(target);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw new AppError('io', `cannot create ${parent}: ${(err as Error).message}`);
  }
  const tmp = join(parent, partialName(target));
  try {
    mkdirSync(tmp);
  } catch (err) {
    throw new AppError('io', `cannot create a folder in ${parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    await write(tmp);
    checkOutDir(target);
    try {
      // An empty DIR is replaced (rmdir never follows a link: one swapped in meanwhile fails here).
      if (existsSync(target)) rmdirSync(target);
      renameSync(tmp, target);
    } catch (err) {
      throw new AppError('io', `--out ${target}: cannot move the export into place (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const files: { path: string; bytes: number }[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(p);
      if (st.isDirectory()) walk(p, r);
      else files.push({ path: r, bytes: st.size });
    }
  };
  walk(target, '');
  return files;
}

/** The resolved run config as exported: model size/channels and the dataset reference filled in. */
export function exportedRunConfig(run: RunInfo): Record<string, unknown> {
  const config = structuredClone(run.config) as Record<string, any>;
  const pre = run.preprocessing;
  if (pre && config.model && typeof config.model === 'object') {
    config.model.inputSize ??= pre.inputSize;
    config.model.channels ??= pre.channels;
  }
  config.dataset = {
    ...(config.dataset && typeof config.dataset === 'object' ? config.dataset : {}),
    name: run.datasetName,
    ...(run.datasetId !== null ? { id: run.datasetId } : {}),
    ...(run.datasetFingerprint ? { fingerprint: run.datasetFingerprint } : {}),
  };
  return config;
}

export async function exportRun(
  services: Services,
  input: { run: number; out: string; formats: ExportFormat[] },
  opts: { signal?: AbortSignal; onProgress?(done: number, total: number, label: string): void } = {},
): Promise<ExportResult> {
  checkPathText(input.out, '--out');
  const { getRun } = await import('../training/runs-repository');
  const run = getRun(services.db, input.run);
  const formats = [...new Set(input.formats)].sort((a, b) => EXPORT_FORMATS.indexOf(a) - EXPORT_FORMATS.indexOf(b));
  if (formats.length === 0) throw new AppError('input', '--format: name at least one of tfjs, onnx');
  if (!run.modelDir || !existsSync(join(run.modelDir, 'model.json'))) {
    throw new AppError('not-found', `run ${run.id} has no trained model to export (status ${run.status}${run.error ? `: ${run.error}` : ''})`);
  }
  if (!run.preprocessing) throw new AppError('corrupt', `run ${run.id} has no recorded preprocessing; it cannot be exported`);
  // A run on an ONNX backbone exports one ONNX model (backbone + head); there is no tfjs form of its backbone.
  const backbone = run.preprocessing.backbone;
  if (backbone && formats.includes('tfjs')) {
    if (formats.length === 1) throw new AppError('unsupported', `--format tfjs: run ${run.id} trained on ONNX backbone '${backbone.name}'; its model exports as model.onnx only (--format onnx)`);
    formats.splice(formats.indexOf('tfjs'), 1);
  }
  const droppedTfjs = backbone !== undefined && input.formats.includes('tfjs');
  checkOutDir(resolve(input.out));
  const warnings: string[] = [];
  if (droppedTfjs) warnings.push(`tfjs/ not written: run ${run.id} trained on ONNX backbone '${backbone!.name}', so its model is model.onnx only`);
  if (run.status !== 'completed') warnings.push(`run ${run.id} is ${run.status}: exporting the weights of its last finished epoch`);

  // The file list the run trained on: hashed only while the dataset still has the run's fingerprint.
  let listHash: string | null = null;
  let fileCount: number | null = null;
  if (run.datasetId !== null) {
    const repo = await import('../datasets/repository');
    const ds = repo.findDataset(services.db, run.datasetId);
    if (ds) {
      const now = repo.datasetFingerprint(services.db, ds.id);
      if (run.datasetFingerprint && now !== run.datasetFingerprint) {
        warnings.push(`dataset '${ds.name}' changed since run ${run.id} (fingerprint differs): fileListHash left out`);
      } else {
        const files = repo.listUsableImages(services.db, ds.id);
        listHash = fileListHash(files);
        fileCount = files.length;
      }
    } else warnings.push(`dataset of run ${run.id} no longer exists: fileListHash left out`);
  }

  const exportedAt = new Date().toISOString();
  const preprocessing: ExportPreprocessing = { ...run.preprocessing, onnxLayout: backbone ? (run.preprocessing.layout ?? 'NCHW') : 'NHWC' };
  const config = exportedRunConfig(run);
  const provenance: ExportProvenance = {
    format: 'mixup-studio.export',
    version: 1,
    run: run.id,
    status: run.status,
    dataset: run.datasetName,
    backend: run.backend,
    device: run.device,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    exportedAt,
    appVersion: APP_VERSION,
    datasetFingerprint: run.datasetFingerprint,
    fileListHash: listHash,
    fileCount,
    labels: run.classes,
    metrics: run.metrics,
    ...(backbone ? { backbone: { name: backbone.name, format: backbone.format, sha256: backbone.sha256 } } : {}),
  };

  const total = 2 + formats.length;
  let done = 0;
  const step = (label: string) => {
    throwIfCancelled(opts.signal, 'export');
    opts.onProgress?.(done++, total, label);
  };

  const files = await writeFolderAtomically(input.out, async (dir) => {
    step('loading model');
    // tfjs as the engine configures it (production mode); the weights are only read and written, on cpu.
    (await import('../training/engine/index')).loadTf();
    const { loadModel, saveModel } = await import('../training/checkpoint');
    const model = await loadModel(run.modelDir!, { remedy: `run ${run.id}'s saved model is damaged: train it again` });
    try {
      const outputs = model.outputs[0]!.shape;
      if (outputs[outputs.length - 1] !== run.classes.length) {
        throw new AppError('corrupt', `run ${run.id}: the model has ${outputs[outputs.length - 1]} outputs but the run has ${run.classes.length} classes`);
      }
      if (formats.includes('tfjs')) {
        step('writing tfjs model');
        await saveModel(model, join(dir, 'tfjs'));
      }
      if (formats.includes('onnx')) {
        step('converting to ONNX');
        const meta = {
          producerVersion: APP_VERSION,
          docString: `MixUp Studio run ${run.id} (${run.datasetName}); input ${preprocessing.onnxLayout} float32 preprocessed as in config.json`,
          metadata: { labels: JSON.stringify(run.classes), preprocessing: JSON.stringify(preprocessing), run: String(run.id) },
        };
        const bytes = backbone
          ? await (await import('./backbone-export')).backboneRunOnnx(services, run, model, meta)
          : (await import('./onnx/convert')).exportOnnx(model, meta);
        writeFileSync(join(dir, 'model.onnx'), bytes);
      }
    } finally {
      model.dispose();
    }
    step('writing config and report');
    writeFileSync(join(dir, 'labels.json'), `${JSON.stringify(run.classes, null, 2)}\n`);
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ ...config, preprocessing, provenance }, null, 2)}\n`);
    const { renderReport } = await import('./report');
    writeFileSync(join(dir, 'report.html'), renderReport({ run, config, preprocessing, exportedAt, appVersion: APP_VERSION, formats }));
    throwIfCancelled(opts.signal, 'export');
  });
  opts.onProgress?.(total, total, 'done');
  return { out: resolve(input.out), run: run.id, formats, files, warnings };
}

/**
 * `backbone import`: a model file the user downloaded becomes a backbone of the home. The file is streamed into
 * `backbones/` under a temp name while its sha256 is taken (never read whole into memory), opened in onnxruntime
 * from that copy, inspected (its image input, its feature output, one probe run for the feature size), and only
 * then renamed to `<sha256>.onnx` and registered. Anything wrong — not a model, no image input, an output that
 * does not exist, a name taken — refuses the import naming the file and the problem, and leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { AppError, throwIfCancelled } from '../core/errors';
import type { Services } from '../core/services';
import { sweepDeadTemps, tempPathFor } from '../core/temp-files';
import { openUserFile } from '../core/user-files';
import { inspectOnnx, openOnnx, runFeatures } from './onnx-model';
import { resolvePreprocessing, type PreprocessingFlags } from './preprocessing';
import { findBackbone, insertBackbone, type BackboneInfo } from './repository';

/** Models are big (ResNet-50 is ~100 MB); the cap only stops an endless file. */
export const BACKBONE_MAX_BYTES = 8 * 1024 * 1024 * 1024;

export interface ImportOptions extends PreprocessingFlags {
  name: string;
  output?: string;
  signal?: AbortSignal;
}

export function backbonesDir(services: Services): string {
  return join(services.paths.home, 'backbones');
}

/** Copies `src` (an fd the checks opened) to `dest`, taking its sha256 on the way. */
async function copyHashed(fd: number, dest: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes > BACKBONE_MAX_BYTES) return done(new AppError('input', `the model grew past ${BACKBONE_MAX_BYTES} bytes while being read`));
      done(null, chunk);
    },
  });
  await pipeline(createReadStream('', { fd, autoClose: false }), tap, createWriteStream(dest, { flags: 'wx' }), { signal });
  return { sha256: hash.digest('hex'), bytes };
}

/** The ONNX file the user named: `path` itself, or a folder's `model.onnx` (an export folder of this app is refused). */
function onnxFileOf(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new AppError('not-found', `backbone ${path} does not exist`);
  }
  if (!st.isDirectory()) return path;
  if (existsSync(join(path, 'labels.json')) && existsSync(join(path, 'config.json'))) {
    throw new AppError('unsupported', `backbone ${path} is an export of this app: starting from an earlier run (its model cut before the classifier) is not supported yet`);
  }
  if (existsSync(join(path, 'model.onnx'))) return join(path, 'model.onnx');
  if (existsSync(join(path, 'model.json')) || existsSync(join(path, 'tfjs', 'model.json'))) {
    throw new AppError('unsupported', `backbone ${path}: tfjs models cannot be imported yet (only ONNX files); convert it with tf2onnx, or export it from PyTorch with torch.onnx.export`);
  }
  throw new AppError('input', `backbone ${path} is a folder without model.onnx; name the .onnx file`);
}

export async function importBackbone(services: Services, path: string, opts: ImportOptions): Promise<BackboneInfo> {
  const name = opts.name.trim();
  if (!name) throw new AppError('input', '--name: give the backbone a name');
  if (/^\d+$/.test(name)) throw new AppError('input', `--name: '${name}' is a number, which reads as a backbone id; choose a name with a letter in it`);
  const nameTaken = () => new AppError('conflict', `--name: a backbone named '${name}' is already imported (remove it first, or choose another name)`);
  if (findBackbone(services.db, name)) throw nameTaken();
  const file = onnxFileOf(path);
  const dir = backbonesDir(services);
  mkdirSync(dir, { recursive: true });
  sweepDeadTemps(dir);
  const tmp = tempPathFor(join(dir, 'import'), true);
  const { fd, path: shownAs } = openUserFile(file, { what: 'backbone', maxBytes: BACKBONE_MAX_BYTES, field: 'PATH' });
  let opened: Awaited<ReturnType<typeof openOnnx>> | undefined;
  try {
    let { sha256, bytes } = await copyHashed(fd, tmp, opts.signal).catch((err: unknown) => {
      if (err instanceof AppError) throw err;
      if ((err as Error).name === 'AbortError') throw new AppError('cancelled', 'backbone import cancelled');
      throw new AppError('io', `cannot copy backbone ${shownAs} into ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    });
    throwIfCancelled(opts.signal, 'backbone import');
    opened = await openOnnx(tmp, `backbone ${shownAs}`, 1);
    if (opts.output && !opened.session.outputNames.includes(opts.output)) {
      // An inner tensor: the copy is cut there (its classifier dropped), and it is that model the home keeps.
      await opened.session.release();
      opened = undefined;
      const { cutAtTensor } = await import('./onnx-cut');
      const cut = cutAtTensor(readFileSync(tmp), opts.output, `backbone ${shownAs}`);
      writeFileSync(tmp, cut);
      sha256 = createHash('sha256').update(cut).digest('hex');
      bytes = cut.length;
      opened = await openOnnx(tmp, `backbone ${shownAs}`, 1);
    }
    const inspection = inspectOnnx(opened.session, `backbone ${shownAs}`, opts.output);
    const preprocessing = resolvePreprocessing(inspection.read, opts, `backbone ${shownAs}`);
    const [h, w] = preprocessing.inputSize;
    const n = inspection.fixedBatch ?? 1;
    const probe = new Float32Array(n * preprocessing.channels * h * w);
    let featureSize: number;
    try {
      ({ dim: featureSize } = await runFeatures({ session: opened.session, inputName: inspection.inputName, outputName: inspection.outputName }, probe, n, preprocessing));
    } catch (err) {
      if (err instanceof AppError) throw new AppError('input', `backbone ${shownAs}: ${err.message}`);
      throw new AppError('input', `backbone ${shownAs} does not run on a ${preprocessing.layout === 'NCHW' ? `${n}×${preprocessing.channels}×${h}×${w}` : `${n}×${h}×${w}×${preprocessing.channels}`} input: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
    const rel = join('backbones', `${sha256}.onnx`);
    const dest = join(services.paths.home, rel);
    const placed = !existsSync(dest);
    if (placed) renameSync(tmp, dest);
    else rmSync(tmp, { force: true });
    const record = {
      name,
      format: 'onnx' as const,
      file: rel,
      sha256,
      bytes,
      source: shownAs,
      inputName: inspection.inputName,
      outputName: inspection.outputName,
      featureSize,
      preprocessing,
    };
    try {
      return insertBackbone(services.db, record);
    } catch (err) {
      // Registered by another import meanwhile (the name), or the database refused: the copy goes unless another backbone has it.
      if (placed && !services.db.prepare('SELECT 1 FROM backbones WHERE file = ?').get(rel)) rmSync(dest, { force: true });
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw nameTaken();
      throw err;
    }
  } finally {
    closeSync(fd);
    await opened?.session.release().catch(() => undefined);
    rmSync(tmp, { force: true });
  }
}

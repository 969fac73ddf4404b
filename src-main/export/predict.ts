/**
 * `models:predict`: classifies image files with an exported model folder (`export RUN --out DIR`), using
 * only what the folder holds: `tfjs/model.json` + weights, `labels.json` and `config.json`'s
 * `preprocessing`. Images are decoded exactly as training decodes them (the same sharp pipeline: fill
 * resize to inputSize, grey or sRGB), then `x = (pixel * scale - mean[c]) / std[c]`.
 *
 * The folder is not trusted (issue #11): its JSON files are read bounded and never echoed, the model's weight
 * paths stay inside it (training/model-files.ts), and config.json's and labels.json's shapes are checked
 * against the loaded model before any image is decoded.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError, throwIfCancelled } from '../core/errors';
import { parseJsonText, readUserText } from '../core/user-files';
import type { ExportPreprocessing } from '../config/export-file';
import type { BackendName } from '../training/engine/index';

export interface Prediction {
  image: string;
  top: { label: string; probability: number }[];
}

export interface ModelFolder {
  dir: string;
  labels: string[];
  preprocessing: ExportPreprocessing;
}

/** labels.json and config.json are a few KiB; a cap keeps a hostile folder from feeding an endless file. */
const FOLDER_JSON_MAX_BYTES = 4 * 1024 * 1024;
/** The sides training accepts (training/spec.ts): a larger inputSize cannot come from a real export. */
const MIN_SIDE = 4;
const MAX_SIDE = 1024;

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) throw new AppError('not-found', `${file}: missing (${what}); is this a folder written by \`mixup-studio export\`?`);
  try {
    // Bounded, regular files only; a syntax error says where, never quoting the text.
    return parseJsonText(readUserText(file, { what: 'model folder file', maxBytes: FOLDER_JSON_MAX_BYTES }), file);
  } catch (err) {
    if (err instanceof AppError && err.kind !== 'io') throw new AppError('corrupt', err.message);
    throw err;
  }
}

/** A value from a file, for a message: short numbers shown, anything else only described. */
function got(v: unknown): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) {
    return v.length <= 4 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? `[${v.join(', ')}]` : `a list of ${v.length}`;
  }
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Reads and checks labels.json and config.json's preprocessing of an export folder. */
export function readModelFolder(dir: string): ModelFolder {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new AppError('not-found', `MODEL_DIR ${root}: no such folder`);
  const labels = readJson(join(root, 'labels.json'), 'the class names');
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string')) {
    throw new AppError('corrupt', `${join(root, 'labels.json')}: expected a JSON array of at least 2 class names`);
  }
  const config = readJson(join(root, 'config.json'), 'the run config and preprocessing') as { preprocessing?: Partial<ExportPreprocessing> };
  const p = config?.preprocessing;
  const file = join(root, 'config.json');
  if (!p || typeof p !== 'object') throw new AppError('corrupt', `${file}: no "preprocessing" section`);
  const size = p.inputSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) {
    throw new AppError('corrupt', `${file}: preprocessing.inputSize must be [height, width], got ${got(size)}`);
  }
  // Checked before the model is even loaded: a tampered 100000×100000 would have every image resized to it.
  if (!size.every((v) => v >= MIN_SIDE && v <= MAX_SIDE)) {
    throw new AppError('corrupt', `${file}: preprocessing.inputSize ${got(size)} is outside ${MIN_SIDE}..${MAX_SIDE}, the sizes training accepts; re-export the run`);
  }
  if (p.channels !== 1 && p.channels !== 3) throw new AppError('corrupt', `${file}: preprocessing.channels must be 1 or 3, got ${got(p.channels)}`);
  const perChannel = (v: unknown, name: string): number[] => {
    if (!Array.isArray(v) || !(v.length === p.channels || v.length === 1) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new AppError('corrupt', `${file}: preprocessing.${name} must list one number per channel, got ${got(v)}`);
    }
    return v.length === p.channels ? v : new Array<number>(p.channels!).fill(v[0]);
  };
  const std = perChannel(p.std, 'std');
  if (std.some((s) => s === 0)) throw new AppError('corrupt', `${file}: preprocessing.std must not be 0`);
  if (typeof p.scale !== 'number' || !Number.isFinite(p.scale)) throw new AppError('corrupt', `${file}: preprocessing.scale must be a number`);
  return {
    dir: root,
    labels: labels as string[],
    preprocessing: {
      inputSize: [size[0], size[1]],
      channels: p.channels,
      scale: p.scale,
      mean: perChannel(p.mean, 'mean'),
      std,
      resize: p.resize === 'center-crop' ? 'center-crop' : 'fill',
      onnxLayout: p.onnxLayout === 'NCHW' ? 'NCHW' : 'NHWC',
      ...(p.backbone && typeof p.backbone === 'object' ? { backbone: p.backbone } : {}),
    },
  };
}

/** Decodes and normalises one image file as training does; the error names the file. */
export async function preprocessImage(file: string, p: ExportPreprocessing): Promise<Float32Array> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new AppError('not-found', `IMAGE ${file}: no such file`);
  const { decodeImage } = await import('../training/decode');
  let px: Uint8Array;
  try {
    px = await decodeImage(abs, p.inputSize, p.channels, p.resize);
  } catch (err) {
    throw new AppError('input', `IMAGE ${file}: cannot be read as an image (${(err as Error).message.replace(/\s+/g, ' ').trim()})`);
  }
  const c = p.channels;
  const out = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) {
    const k = i % c;
    out[i] = (px[i]! * p.scale - p.mean[k]!) / p.std[k]!;
  }
  return out;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(probs: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: probs.length }, (_, i) => i)
    .sort((a, b) => probs[b]! - probs[a]! || a - b)
    .slice(0, Math.max(1, Math.min(k, probs.length)));
}

export async function predictImages(
  modelDir: string,
  images: string[],
  opts: { top?: number; signal?: AbortSignal; backend?: BackendName } = {},
): Promise<Prediction[]> {
  if (images.length === 0) throw new AppError('input', 'IMAGE: name at least one image file');
  const folder = readModelFolder(modelDir);
  const tfjsDir = join(folder.dir, 'tfjs');
  // A run on an ONNX backbone exports model.onnx only: it predicts through onnxruntime.
  if (folder.preprocessing.backbone) return predictWithOnnx(folder, images, opts);
  if (!existsSync(join(tfjsDir, 'model.json'))) {
    throw new AppError('not-found', `${join(tfjsDir, 'model.json')}: missing; export the run with --format tfjs to predict with it`);
  }
  const { initEngine, loadTf } = await import('../training/engine/index');
  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const tf = loadTf();
  const { loadModel } = await import('../training/checkpoint');
  // The model first: config.json's and labels.json's shapes are checked against it before any image is
  // decoded (a tampered inputSize must not make every decode a giant resize).
  const model = await loadModel(tfjsDir, { remedy: 're-export the run' });
  try {
    const [h, w] = folder.preprocessing.inputSize;
    const c = folder.preprocessing.channels;
    const inShape = model.inputs.length === 1 ? model.inputs[0]!.shape : [];
    const outShape = model.outputs.length === 1 ? model.outputs[0]!.shape : [];
    if (inShape.length !== 4 || outShape.length !== 2) {
      throw new AppError('corrupt', `${join(tfjsDir, 'model.json')}: not an image classifier (one [height, width, channels] input, one class output); re-export the run`);
    }
    if (inShape[1] !== h || inShape[2] !== w || inShape[3] !== c) {
      throw new AppError('corrupt', `${folder.dir}: the model takes [${inShape.slice(1).join(', ')}] inputs but config.json's preprocessing says [${h}, ${w}, ${c}]`);
    }
    if (outShape[1] !== folder.labels.length) {
      throw new AppError('corrupt', `${folder.dir}: the model outputs ${outShape[1]} classes but labels.json names ${folder.labels.length}`);
    }
    // Then every image, so a bad one is reported before any prediction.
    const inputs: Float32Array[] = [];
    for (const img of images) {
      throwIfCancelled(opts.signal, 'predict');
      inputs.push(await preprocessImage(img, folder.preprocessing));
    }
    const results: Prediction[] = [];
    const per = h * w * c;
    const chunk = 64;
    for (let start = 0; start < inputs.length; start += chunk) {
      throwIfCancelled(opts.signal, 'predict');
      const n = Math.min(chunk, inputs.length - start);
      const batch = new Float32Array(n * per);
      for (let i = 0; i < n; i++) batch.set(inputs[start + i]!, i * per);
      // Read asynchronously: a GPU backend (webgpu) cannot read synchronously under Node.
      const out = tf.tidy(() => model.predict(tf.tensor4d(batch, [n, h, w, c])) as import('@tensorflow/tfjs').Tensor);
      const probs = (await out.data()) as Float32Array;
      out.dispose();
      const classes = probs.length / n;
      if (classes !== folder.labels.length) {
        throw new AppError('corrupt', `${folder.dir}: the model outputs ${classes} classes but labels.json names ${folder.labels.length}`);
      }
      for (let i = 0; i < n; i++) {
        const row = probs.subarray(i * classes, (i + 1) * classes);
        results.push({
          image: images[start + i]!,
          top: topK(row, opts.top ?? 3).map((k) => ({ label: folder.labels[k]!, probability: row[k]! })),
        });
      }
    }
    return results;
  } finally {
    model.dispose();
  }
}

/**
 * `predict` with an export's `model.onnx` (a run on an ONNX backbone: backbone + head in one graph), through
 * onnxruntime: images decoded as the backbone takes them (its resize, grey or sRGB), normalised, laid out as
 * config.json's `onnxLayout`, run in batches; the graph's input and output are checked against config.json and
 * labels.json before any image is decoded.
 */
export async function predictWithOnnx(folder: ModelFolder, images: string[], opts: { top?: number; signal?: AbortSignal } = {}): Promise<Prediction[]> {
  const file = join(folder.dir, 'model.onnx');
  if (!existsSync(file)) throw new AppError('not-found', `${file}: missing; export the run with --format onnx to predict with it`);
  const { openOnnx } = await import('../backbones/onnx-model');
  const ort = await import('onnxruntime-node');
  const { session } = await openOnnx(file, file);
  try {
    const p = folder.preprocessing;
    const [h, w] = p.inputSize;
    const c = p.channels;
    const nchw = p.onnxLayout === 'NCHW';
    const input = session.inputMetadata[0];
    const shape = input?.isTensor ? input.shape : [];
    const want = nchw ? [c, h, w] : [h, w, c];
    if (session.inputNames.length !== 1 || shape.length !== 4 || shape.slice(1).some((d, i) => typeof d === 'number' && d !== want[i])) {
      throw new AppError('corrupt', `${file}: the model takes [${shape.join(', ')}] inputs but config.json's preprocessing says [${want.join(', ')}] (${p.onnxLayout}); re-export the run`);
    }
    const inputs: Float32Array[] = [];
    for (const img of images) {
      throwIfCancelled(opts.signal, 'predict');
      inputs.push(await preprocessImage(img, p));
    }
    const per = h * w * c;
    const results: Prediction[] = [];
    const fixed = typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : null;
    const chunk = fixed ?? 32;
    for (let start = 0; start < inputs.length; start += chunk) {
      throwIfCancelled(opts.signal, 'predict');
      const n = Math.min(chunk, inputs.length - start);
      const batch = new Float32Array((fixed ?? n) * per);
      for (let i = 0; i < n; i++) {
        const x = inputs[start + i]!;
        if (!nchw) batch.set(x, i * per);
        else for (let ch = 0; ch < c; ch++) for (let k = 0; k < h * w; k++) batch[i * per + ch * h * w + k] = x[k * c + ch]!;
      }
      const dims = nchw ? [fixed ?? n, c, h, w] : [fixed ?? n, h, w, c];
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', batch, dims) });
      const t = out[session.outputNames[0]!]!;
      const probs = t.data as Float32Array;
      const classes = Number(t.dims[1]);
      if (t.dims.length !== 2 || classes !== folder.labels.length) {
        throw new AppError('corrupt', `${folder.dir}: the model outputs [${t.dims.join(', ')}] but labels.json names ${folder.labels.length} classes`);
      }
      for (let i = 0; i < n; i++) {
        const row = probs.subarray(i * classes, (i + 1) * classes);
        results.push({ image: images[start + i]!, top: topK(row, opts.top ?? 3).map((k) => ({ label: folder.labels[k]!, probability: row[k]! })) });
      }
    }
    return results;
  } finally {
    await session.release();
  }
}

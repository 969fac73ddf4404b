/**
 * Reads a saved tfjs model folder (`model.json` + weight files) without trusting it: an export folder comes
 * from anywhere, and even a run's own model folder may be damaged. Before tfjs sees a byte:
 * - `model.json` is a regular file under a size cap, valid JSON (never echoed), shaped like a tfjs layers
 *   model (a topology object, a weights manifest of groups of paths and weight specs);
 * - every `weightsManifest[g].paths[i]` stays inside the folder: relative, no `..` out of it, and once
 *   resolved through symbolic links (realpath) still inside the folder's realpath; a regular file;
 * - the weight files hold exactly the bytes the manifest's specs need (a truncated `weights.bin` is named with
 *   both sizes instead of failing deep in tfjs).
 * Errors name the file and the entry at fault, never the contents of anything read.
 */
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AppError } from '../core/errors';
import { parseJsonText, readUserText } from '../core/user-files';

/** A topology is tens to hundreds of KiB; anything past this is not one of ours. */
export const MODEL_JSON_MAX_BYTES = 64 * 1024 * 1024;
/** Node's Buffer limit: weights beyond it cannot be handed to tfjs in one piece anyway. */
export const WEIGHTS_MAX_BYTES = 4 * 1024 * 1024 * 1024 - 1;

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

export interface SavedModelFiles {
  /** The model.json path (for messages). */
  file: string;
  modelTopology: object;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  /** The "FILE is not a model file: WHY (REMEDY)" error, for failures after this point (tfjs itself). */
  notAModel(why: string): AppError;
}

const BYTES_PER: Record<WeightSpec['dtype'], number> = { float32: 4, int32: 4, bool: 1 };

/** A path from the manifest, shown short and on one line (it is a name the file gives, not file contents). */
function shown(p: string): string {
  return JSON.stringify(p.length > 80 ? `${p.slice(0, 80)}…` : p);
}

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Reads and checks `dir/model.json` and its weight files. `remedy` ends the messages ("re-export the run").
 */
/**
 * The layer sizes a topology declares, per layer class, and which kernel's axis must hold each (Keras' weight
 * layouts). Classes not listed (recurrent layers, whose kernels stack gates) are not checked here.
 */
const SIZE_RULES: Record<string, Array<{ field: string; kernel: string; axis: (rank: number) => number }>> = {
  Conv1D: [{ field: 'filters', kernel: 'kernel', axis: (r) => r - 1 }], // [k, in, filters]
  Conv2D: [{ field: 'filters', kernel: 'kernel', axis: (r) => r - 1 }], // [kh, kw, in, filters]
  Conv3D: [{ field: 'filters', kernel: 'kernel', axis: (r) => r - 1 }],
  Conv2DTranspose: [{ field: 'filters', kernel: 'kernel', axis: (r) => r - 2 }], // [kh, kw, filters, in]
  Dense: [{ field: 'units', kernel: 'kernel', axis: (r) => r - 1 }], // [in, units]
  DepthwiseConv2D: [{ field: 'depth_multiplier', kernel: 'depthwise_kernel', axis: (r) => r - 1 }], // [kh, kw, in, multiplier]
  SeparableConv2D: [
    { field: 'depth_multiplier', kernel: 'depthwise_kernel', axis: (r) => r - 1 },
    { field: 'filters', kernel: 'pointwise_kernel', axis: (r) => r - 1 }, // [1, 1, in·multiplier, filters]
  ],
};
/** The kernel whose first two axes are the layer's kernel_size. */
const SPATIAL_KERNEL: Record<string, string> = { Conv2D: 'kernel', Conv2DTranspose: 'kernel', DepthwiseConv2D: 'depthwise_kernel', SeparableConv2D: 'depthwise_kernel' };

/**
 * Every layer size the topology declares (a Conv's `filters` and `kernel_size`, a Dense's `units`, a
 * depthwise `depth_multiplier`) must be what its kernel in the weights manifest holds. tfjs allocates a layer's
 * weights from its declared sizes before loading any, so a tampered size (filters: 100,000,000) would take
 * minutes and gigabytes to be refused; checked here, it is refused before anything is built.
 */
function checkLayerSizes(topology: object, specs: WeightSpec[], notAModel: (why: string) => AppError): void {
  const kernelOf = (layer: string, kernel: string) => specs.find((w) => w.name === `${layer}/${kernel}` || w.name.endsWith(`/${layer}/${kernel}`))?.shape;
  const visit = (node: unknown, depth: number): void => {
    if (depth > 8 || node === null || typeof node !== 'object') return;
    const { config, class_name: cls } = node as { config?: unknown; class_name?: unknown };
    if (config === null || typeof config !== 'object') return;
    const c = config as Record<string, unknown>;
    if (Array.isArray(c.layers)) for (const l of c.layers) visit(l, depth + 1);
    const name = typeof c.name === 'string' ? c.name : undefined;
    const rules = typeof cls === 'string' ? (SIZE_RULES[cls] ?? []).filter((r) => c[r.field] !== undefined) : [];
    if (rules.length === 0 || name === undefined) return;
    for (const r of rules) {
      const shape = kernelOf(name, r.kernel);
      if (!shape) throw notAModel(`layer ${name} declares ${r.field} but the manifest holds no ${r.kernel} for it`);
      if (c[r.field] !== shape[r.axis(shape.length)]) {
        throw notAModel(`layer ${name} declares ${r.field} ${String(c[r.field]).slice(0, 20)}, its ${r.kernel} in the manifest has shape [${shape.join(', ')}]`);
      }
    }
    const k = c.kernel_size;
    const spatial = SPATIAL_KERNEL[cls as string] ? kernelOf(name, SPATIAL_KERNEL[cls as string]!) : undefined;
    if (Array.isArray(k) && spatial && spatial.length === 4 && (k[0] !== spatial[0] || k[1] !== spatial[1])) {
      throw notAModel(`layer ${name} declares kernel_size [${k.slice(0, 2).join(', ')}], its kernel in the manifest has shape [${spatial.join(', ')}]`);
    }
  };
  const t = topology as { model_config?: unknown };
  visit(t.model_config ?? topology, 0);
}

export function readSavedModel(dir: string, remedy = 're-save the model'): SavedModelFiles {
  const root = resolve(dir);
  const file = join(root, 'model.json');
  const notAModel = (why: string) => new AppError('corrupt', `${file} is not a model file: ${why}; ${remedy}`);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw notAModel('it is not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('not-found', `no saved model at ${file}`);
  }
  if (size > MODEL_JSON_MAX_BYTES) throw notAModel(`it is ${size} bytes, more than a model topology (${MODEL_JSON_MAX_BYTES} bytes at most)`);
  let text: string;
  try {
    // A bounded read: a file that grows past the cap meanwhile is refused too.
    text = readUserText(file, { what: 'model file', maxBytes: MODEL_JSON_MAX_BYTES });
  } catch (err) {
    throw notAModel(err instanceof AppError && err.kind === 'input' ? 'it grew past the size limit while being read' : 'it cannot be read');
  }
  let json: unknown;
  try {
    json = parseJsonText(text, file);
  } catch (err) {
    // parseJsonText says where ("not valid JSON (at line 1, column 3)") without quoting the text.
    throw notAModel(err instanceof AppError ? err.message.slice(file.length + 2) : 'not valid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw notAModel('not a JSON object');
  const j = json as { modelTopology?: unknown; weightsManifest?: unknown };
  if (j.modelTopology === null || typeof j.modelTopology !== 'object' || Array.isArray(j.modelTopology)) throw notAModel('no modelTopology object');
  if (!Array.isArray(j.weightsManifest)) throw notAModel('no weightsManifest list');

  // The folder as the OS resolves it: a weight file is accepted only if its real path lies inside.
  const realRoot = realpathSync(root);
  const specs: WeightSpec[] = [];
  const groups: { files: string[]; shownPaths: string[]; needed: number }[] = [];
  let total = 0;
  j.weightsManifest.forEach((g: unknown, gi: number) => {
    const at = `weightsManifest[${gi}]`;
    if (g === null || typeof g !== 'object') throw notAModel(`${at} is not an object`);
    const { paths, weights } = g as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !Array.isArray(weights)) throw notAModel(`${at} needs "paths" and "weights" lists`);
    let needed = 0;
    weights.forEach((w: unknown, wi: number) => {
      const s = w as Partial<WeightSpec> & { quantization?: unknown };
      const ok =
        s !== null &&
        typeof s === 'object' &&
        typeof s.name === 'string' &&
        Array.isArray(s.shape) &&
        s.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
        typeof s.dtype === 'string' &&
        s.dtype in BYTES_PER &&
        s.quantization === undefined;
      if (!ok) throw notAModel(`${at}.weights[${wi}] is not a weight spec (name, shape, dtype float32/int32/bool, unquantised)`);
      needed += s.shape!.reduce((a, d) => a * d, 1) * BYTES_PER[s.dtype!];
      specs.push({ name: s.name!, shape: s.shape!, dtype: s.dtype! });
    });
    const files = paths.map((p: unknown, pi: number) => {
      const entry = `${at}.paths[${pi}]`;
      if (typeof p !== 'string' || p === '' || p.includes('\u0000')) throw notAModel(`${entry} is not a file name`);
      const refuse = (why: string) => new AppError('corrupt', `${file}: ${entry} ${shown(p)} ${why}; refused (${remedy})`);
      if (isAbsolute(p) || /^[a-zA-Z]:/.test(p) || p.startsWith('\\')) throw refuse('is an absolute path; weight files must lie inside the model folder');
      const abs = resolve(root, p);
      if (!isInside(root, abs)) throw refuse('points outside the model folder');
      let real: string;
      try {
        real = realpathSync(abs);
      } catch {
        throw new AppError('corrupt', `${abs} is missing (named by ${file} ${entry}); ${remedy}`);
      }
      if (!isInside(realRoot, real)) throw refuse('points outside the model folder (through a symbolic link)');
      if (!statSync(real).isFile()) throw refuse('is not a regular file');
      return real;
    });
    if (files.length === 0 && needed > 0) throw notAModel(`${at} lists weights but no file holding them`);
    groups.push({ files, shownPaths: files.map((_, pi) => resolve(root, paths[pi] as string)), needed });
    total += needed;
  });
  if (total > WEIGHTS_MAX_BYTES) throw notAModel(`its manifest needs ${total} bytes of weights, more than can be loaded`);
  checkLayerSizes(j.modelTopology, specs, notAModel);

  // Sizes first (a stat each), so nothing is read when they do not match.
  const sizes = groups.map((g) => g.files.map((f) => statSync(f).size));
  groups.forEach((g, gi) => {
    const have = sizes[gi]!.reduce((a, b) => a + b, 0);
    if (have === g.needed) return;
    const one = g.files.length === 1;
    const what = one ? g.shownPaths[0]! : `the weight files ${g.shownPaths.join(', ')}`;
    if (have < g.needed) throw new AppError('corrupt', `${what} ${one ? 'is' : 'are'} truncated (${have} bytes, the manifest needs ${g.needed}); ${remedy}`);
    throw new AppError('corrupt', `${what} ${one ? 'has' : 'have'} ${have} bytes, the manifest needs ${g.needed}; ${remedy}`);
  });

  // Read exactly the sizes checked into one buffer: a file that shrank meanwhile is caught, one that grew is
  // read no further.
  const data = new Uint8Array(total);
  let off = 0;
  groups.forEach((g, gi) => {
    g.files.forEach((f, i) => {
      const size = sizes[gi]![i]!;
      const fd = openSync(f, 'r');
      try {
        let done = 0;
        while (done < size) {
          const n = readSync(fd, data, off + done, size - done, done);
          if (n === 0) throw new AppError('corrupt', `${g.shownPaths[i]} changed while being read; ${remedy}`);
          done += n;
        }
        off += size;
      } finally {
        closeSync(fd);
      }
    });
  });
  return { file, modelTopology: j.modelTopology, weightSpecs: specs, weightData: data.buffer, notAModel };
}

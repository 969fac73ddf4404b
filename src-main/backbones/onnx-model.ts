/**
 * An ONNX backbone on onnxruntime-node: what its graph says about its input (one float image tensor, its
 * layout, channels and size where fixed) and its feature output, and a batch of inputs run to feature vectors
 * (a 4-D output is averaged over its spatial axes, as a global average pool).
 *
 * Execution providers: CPU everywhere; CUDA, DirectML or CoreML when `MIXUP_STUDIO_ONNX_EP` names one and the
 * installed onnxruntime has it (the one that ran is recorded with the embeddings' timing).
 */
import os from 'node:os';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { AppError } from '../core/errors';
import type { BackbonePreprocessing, Layout } from './preprocessing';

export interface OnnxInspection {
  inputName: string;
  outputName: string;
  outputs: string[];
  /** Read from the input's shape where it is definite. */
  read: { inputSize?: [number, number]; channels?: 1 | 3; layout?: Layout };
  /** The batch size the graph fixes (1 for many exports), or null when the batch axis is free. */
  fixedBatch: number | null;
}

/** An open session and the two tensors a backbone is run by. */
export interface OnnxBackbone {
  session: InferenceSession;
  inputName: string;
  outputName: string;
}

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | undefined;
function ort(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').catch((err: Error) => {
    ortPromise = undefined;
    throw new AppError('unsupported', `onnxruntime-node cannot be loaded here: ${err.message.split('\n')[0]}`);
  });
  return ortPromise;
}

/** The execution providers to ask for, best first (CPU always last, so a session always opens). */
function providers(): string[] {
  const asked = (process.env.MIXUP_STUDIO_ONNX_EP ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return [...asked.filter((p) => p !== 'cpu'), 'cpu'];
}

/** Opens `file` (an ONNX model) in onnxruntime; a file that is not one is an input error naming `shownAs`. */
export async function openOnnx(file: string, shownAs: string, threads = os.availableParallelism?.() ?? os.cpus().length): Promise<{ session: InferenceSession; provider: string }> {
  const { InferenceSession: Session } = await ort();
  const eps = providers();
  let last: unknown;
  for (let i = 0; i < eps.length; i++) {
    try {
      const session = await Session.create(file, {
        executionProviders: eps.slice(i),
        intraOpNumThreads: Math.max(1, threads),
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      return { session, provider: eps[i]! };
    } catch (err) {
      last = err;
    }
  }
  // onnxruntime names the file it loaded (the import's temp copy): say what failed, not where.
  const msg = (last as Error).message.replace(/\s+/g, ' ').replace(/^Load model from .*? failed:\s*/, '').trim();
  throw new AppError('input', `${shownAs} is not an ONNX model onnxruntime can load: ${msg.slice(0, 300)}`);
}

const isDim = (d: unknown): d is number => typeof d === 'number' && d > 0;

/** What the graph says: its one image input and its outputs (`output`: the feature output asked for, or the first). */
export function inspectOnnx(session: InferenceSession, shownAs: string, output?: string): OnnxInspection {
  const inputs = session.inputMetadata.filter((m) => m.isTensor);
  if (inputs.length !== 1) {
    throw new AppError('input', `${shownAs} has ${inputs.length} tensor inputs (${session.inputNames.join(', ') || 'none'}); a backbone takes one image input`);
  }
  const input = inputs[0] as InferenceSession.TensorValueMetadata;
  if (input.type !== 'float32') throw new AppError('input', `${shownAs}: input '${input.name}' is ${input.type}, not float32 — not an image input`);
  const shape = input.shape;
  if (shape.length !== 4) {
    throw new AppError('input', `${shownAs}: input '${input.name}' has shape [${shape.join(', ')}], not a 4-D image batch (N,C,H,W or N,H,W,C)`);
  }
  const read: OnnxInspection['read'] = {};
  const [, d1, d2, d3] = shape;
  const chan = (d: unknown) => d === 1 || d === 3;
  if (chan(d1) && !chan(d3)) read.layout = 'NCHW';
  else if (chan(d3) && !chan(d1)) read.layout = 'NHWC';
  if (read.layout === 'NCHW') {
    read.channels = d1 as 1 | 3;
    if (isDim(d2) && isDim(d3)) read.inputSize = [d2, d3];
  } else if (read.layout === 'NHWC') {
    read.channels = d3 as 1 | 3;
    if (isDim(d1) && isDim(d2)) read.inputSize = [d1, d2];
  } else if (isDim(d1) && isDim(d3) && !chan(d1) && !chan(d3)) {
    throw new AppError('input', `${shownAs}: input '${input.name}' has shape [${shape.join(', ')}]: neither axis 1 nor axis 3 holds 1 or 3 channels`);
  }
  const outputs = [...session.outputNames];
  const outputName = output ?? outputs[0];
  if (!outputName || !outputs.includes(outputName)) {
    throw new AppError('input', `--output: ${shownAs} has no output '${output}' (its outputs: ${outputs.join(', ')})`);
  }
  return { inputName: input.name, outputName, outputs, read, fixedBatch: fixedBatchOf(session) };
}

/** Runs a batch (`n` images, already laid out and normalised in `input`) to `n` feature vectors of `dim` values. */
export async function runFeatures(b: OnnxBackbone, input: Float32Array, n: number, p: BackbonePreprocessing): Promise<{ features: Float32Array; dim: number }> {
  const { Tensor: T } = await ort();
  const [h, w] = p.inputSize;
  const dims = p.layout === 'NCHW' ? [n, p.channels, h, w] : [n, h, w, p.channels];
  const feeds = { [b.inputName]: new T('float32', input.subarray(0, n * p.channels * h * w), dims) };
  const out = await b.session.run(feeds, [b.outputName]);
  const t = out[b.outputName] as Tensor;
  try {
    return pooled(t, n, p.layout);
  } finally {
    t.dispose?.();
  }
}

/** The feature vectors of an output tensor: [N, D] as is, [N, D, 1, 1]-like or 4-D maps averaged over space. */
function pooled(t: Tensor, n: number, layout: Layout): { features: Float32Array; dim: number } {
  if (t.type !== 'float32') throw new AppError('input', `the backbone's output is ${t.type}, not float32 features`);
  const d = t.dims.map(Number);
  const data = t.data as Float32Array;
  if (d[0] !== n) throw new AppError('input', `the backbone's output has batch ${d[0]}, expected ${n}`);
  if (d.length === 2) return { features: Float32Array.from(data), dim: d[1]! };
  // A 1×1 map ([N, D, 1, 1] or [N, 1, 1, D]) is a vector, whatever the input's layout.
  if (d.length === 4 && d[2] === 1 && (d[3] === 1 || d[1] === 1)) return { features: Float32Array.from(data), dim: d[3] === 1 ? d[1]! : d[3]! };
  if (d.length === 4) {
    // Channels where the input had them: NCHW graphs give N,C,H,W maps; NHWC graphs give N,H,W,C.
    const [c, hw] = layout === 'NCHW' ? [d[1]!, d[2]! * d[3]!] : [d[3]!, d[1]! * d[2]!];
    const out = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      const base = i * c * hw;
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        if (layout === 'NCHW') for (let k = 0; k < hw; k++) s += data[base + ch * hw + k]!;
        else for (let k = 0; k < hw; k++) s += data[base + k * c + ch]!;
        out[i * c + ch] = s / hw;
      }
    }
    return { features: out, dim: c };
  }
  if (d.length === 3 && d[1] === 1) return { features: Float32Array.from(data), dim: d[2]! };
  throw new AppError('input', `the backbone's output has shape [${d.join(', ')}]: expected [N, D] features or a 4-D feature map (name another with --output)`);
}

/** The batch size a session's graph fixes for its first input, or null when the batch axis is free. */
export function fixedBatchOf(session: InferenceSession): number | null {
  const m = session.inputMetadata[0];
  return m?.isTensor && isDim(m.shape[0]) ? m.shape[0] : null;
}

/** The shape of the backbone's raw feature output, from one probe run on zero images (the graph's batch, or 1). */
export async function featureDims(b: OnnxBackbone, p: BackbonePreprocessing): Promise<number[]> {
  const { Tensor: T } = await ort();
  const [h, w] = p.inputSize;
  const n = fixedBatchOf(b.session) ?? 1;
  const dims = p.layout === 'NCHW' ? [n, p.channels, h, w] : [n, h, w, p.channels];
  const out = await b.session.run({ [b.inputName]: new T('float32', new Float32Array(n * p.channels * h * w), dims) }, [b.outputName]);
  const t = out[b.outputName] as Tensor;
  const shape = t.dims.map(Number);
  t.dispose?.();
  return shape;
}

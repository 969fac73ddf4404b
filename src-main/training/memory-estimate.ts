/**
 * How much memory training needs, estimated before any work, against what the backend can hold, so a config
 * that cannot fit is refused at once with the knob to turn instead of dying mid-run (a 1024×1024×3 run on
 * wasm died with "memory access out of bounds" at 4.5 GB: wasm32 addresses 4 GiB, and tfjs-backend-wasm
 * keeps every tensor in that one heap).
 *
 * The estimate walks the architecture (training/models.ts) on paper: parameter count, and the per-sample
 * feature maps. Two peaks are counted, the larger one is what must fit:
 * - a training step (loop.ts trainStep): weights, BatchNorm statistics and optimizer slots (Adam: 2 per
 *   weight) always; then either the backward pass (every forward output kept on the tape, their gradients,
 *   the weight gradients, the input batch and its mixed copy) or the update (optim.ts runs the whole update in
 *   one tidy, so every variable's temporaries live until it ends: about 18 weight-sized copies with Adam);
 * - an evaluation (loop.ts evaluate: val every epoch, test at the end): max(batchSize, 256) images at a time,
 *   every block's output held until the batch's tidy ends.
 *
 * The factors are calibrated on the wasm backend: the heap size (which only grows) after two full train steps
 * (trainStep, Adam, MixUp α 0.4, one thread) in a fresh process, or after one evaluation batch:
 *   train  cnn-small    64×64×3   B=32  K=10   heap  245 MiB   estimate  214 MiB
 *   train  cnn-small   128×128×1  B=4   K=3    heap  673 MiB   estimate  636 MiB  (weight-bound: 7.9 M)
 *   train  cnn-small   256×256×3  B=8   K=3    heap 2654 MiB   estimate 2610 MiB  (weight-bound: 32.5 M)
 *   train  resnet20     32×32×3   B=32  K=10   heap  429 MiB   estimate  440 MiB
 *   train  resnet20     64×64×3   B=16  K=10   heap  816 MiB   estimate  876 MiB
 *   train  mobilenetv2  64×64×3   B=16  K=10   heap  515 MiB   estimate  480 MiB
 *   eval   resnet20     32×32×3   256 images   heap  701 MiB   estimate  826 MiB
 *   eval   mobilenetv2  64×64×3   128 images   heap  936 MiB   estimate  853 MiB
 *   eval   cnn-small    64×64×3   256 images   heap  449 MiB   estimate  513 MiB
 * Within about 20%: the refusal is for configs off by multiples, not a tight fit. SGD's update factor is
 * counted from its ops, not measured. GPU backends are not checked (their memory is not known here).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { AppError } from '../core/errors';
import type { Arch } from '../config/model-spec';

export interface ArchFootprint {
  /** Trainable parameters (what gets gradients and optimizer slots). */
  trainable: number;
  /** Non-trainable weights (BatchNorm moving statistics). */
  frozen: number;
  /** Floats of forward outputs kept per sample, weighted by how many tensors each layer leaves on the tape. */
  activationsPerSample: number;
  /** Floats of every forward output per sample, one each (what an evaluation's tidy holds to its end). */
  forwardPerSample: number;
}

export interface MemoryEstimate {
  /** The larger of the two peaks: what must fit. */
  bytes: number;
  /** Peak of one training step at batchSize. */
  trainBytes: number;
  /** Peak of one evaluation batch (0 when nothing is evaluated). */
  evalBytes: number;
  evalBatchSize: number;
}

/** Calibrated factors (see the header), each a multiple of a float count. */
export const CALIBRATION = {
  /** Heap bytes per tape-weighted activation float, over its 4 bytes: the tape, the gradients, slack. */
  activation: 3.3,
  /** Weight-sized copies the update holds besides the weights and slots (gradients + temporaries). */
  updateAdam: 18,
  updateSgd: 7,
  /** Evaluation: heap per forward-output float, over its 4 bytes. */
  evaluation: 1.25,
};

const F = 4;
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** The tape weight of a layer kind: BatchNorm leaves x−mean, its square and the output; the rest one tensor. */
const TAPE = { conv: 1, bn: 3, act: 1, pool: 1, add: 1, dense: 1 } as const;

/** Parameters and kept activations of an architecture at an input size (training/models.ts, on paper). */
export function archFootprint(arch: string, [h0, w0]: number[], channels: number, numClasses: number): ArchFootprint {
  let trainable = 0;
  let frozen = 0;
  let acts = 0;
  let forward = 0;
  const keep = (kind: keyof typeof TAPE, h: number, w: number, c: number) => {
    acts += TAPE[kind] * h * w * c;
    forward += h * w * c;
  };
  const conv = (h: number, w: number, cin: number, cout: number, k: number, bias: boolean) => (trainable += k * k * cin * cout + (bias ? cout : 0));
  const bn = (h: number, w: number, c: number) => {
    trainable += 2 * c;
    frozen += 2 * c;
    keep('bn', h, w, c);
  };
  const dense = (fanIn: number, units: number) => {
    trainable += fanIn * units + units;
    keep('dense', 1, 1, units);
  };
  let h = h0!;
  let w = w0!;
  let c = channels;
  switch (arch) {
    case 'cnn-small': {
      // conv 3×3 valid 32 → relu → pool 2; conv 3×3 same 64 → relu → pool 2; dense 128 relu; dense K.
      h -= 2;
      w -= 2;
      conv(h, w, c, 32, 3, true);
      keep('conv', h, w, 32);
      keep('act', h, w, 32);
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      keep('pool', h, w, 32);
      conv(h, w, 32, 64, 3, true);
      keep('conv', h, w, 64);
      keep('act', h, w, 64);
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      keep('pool', h, w, 64);
      dense(h * w * 64, 128);
      keep('act', 1, 1, 128);
      dense(128, numClasses);
      return { trainable, frozen, activationsPerSample: acts, forwardPerSample: forward };
    }
    case 'resnet20': {
      conv(h, w, c, 16, 3, false);
      keep('conv', h, w, 16);
      bn(h, w, 16);
      keep('act', h, w, 16);
      c = 16;
      for (const [filters, stride] of [
        [16, 1],
        [32, 2],
        [64, 2],
      ] as const) {
        for (let u = 0; u < 3; u++) {
          const s = u === 0 ? stride : 1;
          const oh = ceilDiv(h, s);
          const ow = ceilDiv(w, s);
          conv(oh, ow, c, filters, 3, false);
          keep('conv', oh, ow, filters);
          bn(oh, ow, filters);
          keep('act', oh, ow, filters);
          conv(oh, ow, filters, filters, 3, false);
          keep('conv', oh, ow, filters);
          bn(oh, ow, filters);
          if (s !== 1 || c !== filters) {
            conv(oh, ow, c, filters, 1, false);
            keep('conv', oh, ow, filters);
            bn(oh, ow, filters);
          }
          keep('add', oh, ow, filters);
          keep('act', oh, ow, filters);
          h = oh;
          w = ow;
          c = filters;
        }
      }
      dense(c, numClasses);
      return { trainable, frozen, activationsPerSample: acts, forwardPerSample: forward };
    }
    case 'mobilenetv2': {
      h = ceilDiv(h, 2);
      w = ceilDiv(w, 2);
      conv(h, w, c, 32, 3, false);
      keep('conv', h, w, 32);
      bn(h, w, 32);
      keep('act', h, w, 32);
      c = 32;
      const table: Array<[number, number, number, number]> = [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 3, 2],
        [6, 96, 2, 1],
      ];
      for (const [t, out, n, s0] of table) {
        for (let i = 0; i < n; i++) {
          const s = i === 0 ? s0 : 1;
          const e = c * t;
          if (t !== 1) {
            conv(h, w, c, e, 1, false);
            keep('conv', h, w, e);
            bn(h, w, e);
            keep('act', h, w, e);
          }
          const oh = ceilDiv(h, s);
          const ow = ceilDiv(w, s);
          trainable += 9 * e; // depthwise 3×3
          keep('conv', oh, ow, e);
          bn(oh, ow, e);
          keep('act', oh, ow, e);
          conv(oh, ow, e, out, 1, false);
          keep('conv', oh, ow, out);
          bn(oh, ow, out);
          if (s === 1 && c === out) keep('add', oh, ow, out);
          h = oh;
          w = ow;
          c = out;
        }
      }
      conv(h, w, c, 320, 1, false);
      keep('conv', h, w, 320);
      bn(h, w, 320);
      keep('act', h, w, 320);
      dense(320, numClasses);
      return { trainable, frozen, activationsPerSample: acts, forwardPerSample: forward };
    }
    default:
      throw new AppError('input', `model.arch: unknown architecture '${arch}'`);
  }
}

/** The optimizer slots per weight a config gives (optim.ts: adam m and v; sgd a momentum buffer when > 0). */
export function optimizerSlots(opt: { name: string; momentum?: number }): number {
  return opt.name === 'adam' ? 2 : (opt.momentum ?? 0) > 0 ? 1 : 0;
}

export interface StepShape {
  arch: Arch | string;
  inputSize: [number, number] | number[];
  channels: number;
  numClasses: number;
  batchSize: number;
  optimizer: { name: string; momentum?: number };
  /** Images per evaluation batch: min(max(batchSize, 256), the larger of the val and test splits); 0 = none. */
  evalBatchSize?: number;
}

/** Peak bytes of a training step and of an evaluation batch (see the header for what is counted). */
export function estimateTrainingMemory(s: StepShape): MemoryEstimate {
  const fp = archFootprint(String(s.arch), s.inputSize, s.channels, s.numClasses);
  const slots = optimizerSlots(s.optimizer);
  const persistent = F * (fp.trainable * (1 + slots) + fp.frozen);
  const [h, w] = s.inputSize as [number, number];
  const input = F * h * w * s.channels;
  const backward = F * fp.trainable + s.batchSize * (F * fp.activationsPerSample * CALIBRATION.activation + 2 * input);
  const update = F * fp.trainable * (slots === 2 ? CALIBRATION.updateAdam : CALIBRATION.updateSgd);
  const trainBytes = persistent + Math.max(backward, update);
  const evalBatchSize = s.evalBatchSize ?? 0;
  const evalBytes = evalBatchSize > 0 ? persistent + evalBatchSize * (F * fp.forwardPerSample * CALIBRATION.evaluation + input) : 0;
  return { bytes: Math.max(trainBytes, evalBytes), trainBytes, evalBytes, evalBatchSize };
}

export interface BackendCapacity {
  bytes: number;
  /** "the wasm backend holds at most 4 GiB" */
  describe: string;
}

const GiB = 1024 ** 3;
const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

/** Bytes the engine's tensors hold now (0 before tfjs is loaded): what the backend already uses. */
function tensorBytesInUse(): number {
  try {
    return (req('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs')).memory().numBytes;
  } catch {
    return 0;
  }
}

/** wasm32's address space: tfjs-backend-wasm's heap may grow to 4 GiB and no further. */
export const WASM_MAX_BYTES = 4 * GiB;
/** The share of the machine's memory a CPU backend may plan to use (the OS, the app, the pixel cache need the rest). */
const HOST_SHARE = 0.8;

/**
 * What a backend can hold for training, or null when it cannot be known here (GPU memory: tfjs-node-gpu and
 * webgpu report it nowhere before allocation fails; they are not checked).
 */
export function backendCapacity(backend: string, usedBytes = 0, totalMem = os.totalmem()): BackendCapacity | null {
  if (backend === 'wasm') {
    return { bytes: WASM_MAX_BYTES - usedBytes, describe: `the wasm backend holds at most ${gib(WASM_MAX_BYTES)} (wasm32's address space)` };
  }
  if (backend === 'cpu' || backend === 'tfjs-node') {
    const share = HOST_SHARE * totalMem;
    return { bytes: share - usedBytes, describe: `the ${backend} backend may use about ${gib(share)} (${Math.round(HOST_SHARE * 100)}% of this machine's ${gib(totalMem)})` };
  }
  return null;
}

function gib(bytes: number): string {
  const v = bytes / GiB;
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')} GiB`;
}

const largestPowerOfTwoAtMost = (n: number) => (n < 1 ? 0 : 2 ** Math.floor(Math.log2(n)));

/** Smallest input side each architecture takes (training/spec.ts). */
const MIN_SIDE: Record<string, number> = { 'cnn-small': 6, resnet20: 4, mobilenetv2: 16 };

/**
 * Refuses (AppError 'input') training that will not fit the backend, naming the knobs and the values that
 * would fit: the largest power-of-two batchSize below the current one, and the input size (halved until it
 * fits) at the current batch size. Returns the estimate when it fits (or when the backend is not checked).
 */
export function checkTrainingMemory(
  s: StepShape & {
    backend: string;
    /** What the backend already holds (default: the engine's tensor bytes now). */
    usedBytes?: number;
    /** The machine's memory (default os.totalmem()), for the CPU backends' share. */
    totalMem?: number;
  },
): MemoryEstimate {
  const est = estimateTrainingMemory(s);
  const cap = backendCapacity(s.backend, s.usedBytes ?? tensorBytesInUse(), s.totalMem);
  if (!cap || est.bytes <= cap.bytes) return est;
  // The evaluation batch can always be lowered (down to 1 image): a shape fits when its training step does
  // with the smallest evaluation batch.
  const fits = (t: StepShape) => estimateTrainingMemory({ ...t, evalBatchSize: t.evalBatchSize ? 1 : 0 }).bytes <= cap.bytes;
  if (fits(s)) {
    // The training step fits, the evaluation does not: evaluate in the largest batch that does.
    for (let e = Math.floor(est.evalBatchSize / 2); e >= 1; e = Math.floor(e / 2)) {
      const smaller = estimateTrainingMemory({ ...s, evalBatchSize: e });
      if (smaller.bytes <= cap.bytes) return smaller;
    }
  }
  const [h, w] = s.inputSize as [number, number];
  const fixes: string[] = [];
  for (let b = largestPowerOfTwoAtMost(s.batchSize - 1); b >= 1; b = Math.floor(b / 2)) {
    if (fits({ ...s, batchSize: b })) {
      fixes.push(`batchSize to ${b}`);
      break;
    }
  }
  const minSide = MIN_SIDE[String(s.arch)] ?? 16;
  for (let k = 2; Math.min(h, w) / k >= minSide; k *= 2) {
    const size: [number, number] = [Math.round(h / k), Math.round(w / k)];
    if (fits({ ...s, inputSize: size })) {
      fixes.push(`model.inputSize to [${size.join(',')}]`);
      break;
    }
  }
  const knob = fixes.length ? `lower ${fixes.join(' or ')}` : 'choose a smaller model.inputSize or model.arch';
  const shape = `${h}×${w}×${s.channels} with ${s.arch}`;
  // What does not fit even with evaluation one image at a time.
  const least = estimateTrainingMemory({ ...s, evalBatchSize: s.evalBatchSize ? 1 : 0 });
  const what =
    least.trainBytes >= least.evalBytes
      ? `batchSize ${s.batchSize} at ${shape} needs about ${gib(least.trainBytes)} per training step`
      : `evaluating even one image at a time at ${shape} needs about ${gib(least.evalBytes)}`;
  throw new AppError('input', `${what}; ${cap.describe}: ${knob}`, { estimateBytes: Math.round(least.bytes), capacityBytes: Math.round(cap.bytes) });
}

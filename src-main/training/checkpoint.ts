/**
 * Checkpoints and saved models on disk.
 *
 * A checkpoint is one file, `checkpoint.bin` in the run's folder, replaced atomically (written to a temp file,
 * fsynced, renamed): a uint32 LE header length, a JSON header, then the float32 data of every model weight
 * (trainable and BatchNorm statistics) and every optimizer slot. The header carries the epoch to continue from
 * and the JSON state of every random generator and of the mixer.
 *
 * A saved model is the tfjs `file://` layout — `model.json` (topology + weights manifest) and `weights.bin` —
 * written through a small IOHandler (tfjs-node's file:// handler is not installed here).
 */
import * as tf from '@tensorflow/tfjs';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../core/errors';
import { sweepDeadTemps, tempPathFor } from '../core/temp-files';
import { readSavedModel } from './model-files';
import type { SavedOptimizer } from './optim';

export const CHECKPOINT_FILE = 'checkpoint.bin';

export interface CheckpointState {
  /** The next epoch to run (epochs 0..epoch-1 are done). */
  epoch: number;
  /** Free JSON: rng states, mixer state, data-order state, anything the loop needs to continue identically. */
  state: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointState {
  weights: Array<{ name: string; shape: number[]; data: Float32Array }>;
  optimizer: SavedOptimizer;
}

interface Header {
  format: 'mixup-studio-checkpoint';
  version: 1;
  epoch: number;
  state: Record<string, unknown>;
  weights: Array<{ name: string; shape: number[]; length: number }>;
  optimizer: { name: 'adam' | 'sgd'; step: number; slots: Array<{ name: string; shape: number[]; length: number }> };
}

/**
 * Deletes the temp files a killed writer left in `dir` (`checkpoint.bin.PID.tmp`, `weights.bin.PID.tmp`, …),
 * keeping any of a live process: the one sweeper of ../core/temp-files.ts.
 */
export function removeStaleTemps(dir: string): void {
  sweepDeadTemps(dir);
}

/** A write error as the user can act on it: a full disk names the folder; the temp file never stays. */
function writeError(file: string, err: unknown): AppError {
  const e = err as NodeJS.ErrnoException;
  const dir = dirname(file);
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
    return new AppError('io', `no space left on the device holding ${dir} (${e.code}) while writing ${basename(file)}: free some space, then resume the run`);
  }
  return new AppError('io', `cannot write ${file}${e.code ? ` (${e.code})` : ''}: ${e.message}`);
}

function writeFileAtomic(file: string, chunks: Uint8Array[]): void {
  const tmp = tempPathFor(file);
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const c of chunks) {
        let off = 0;
        while (off < c.length) off += writeSync(fd, c, off, c.length - off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never made, or already renamed */
    }
    throw writeError(file, err);
  }
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: SavedOptimizer, st: CheckpointState): Promise<void> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw writeError(join(dir, CHECKPOINT_FILE), err);
  }
  const weights: Checkpoint['weights'] = [];
  for (const w of model.weights) {
    weights.push({ name: w.originalName, shape: w.shape.map(Number), data: (await w.read().data()) as Float32Array });
  }
  const header: Header = {
    format: 'mixup-studio-checkpoint',
    version: 1,
    epoch: st.epoch,
    state: st.state,
    weights: weights.map((w) => ({ name: w.name, shape: w.shape, length: w.data.length })),
    optimizer: { name: optimizer.name, step: optimizer.step, slots: optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, length: s.data.length })) },
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  // Pad the header so the float data starts 4-byte aligned.
  const pad = Buffer.alloc((4 - ((4 + json.length) % 4)) % 4, 0x20);
  writeFileAtomic(join(dir, CHECKPOINT_FILE), [len, json, pad, ...weights.map((w) => bytesOf(w.data)), ...optimizer.slots.map((s) => bytesOf(s.data))]);
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

export function loadCheckpoint(dir: string): Checkpoint {
  const file = join(dir, CHECKPOINT_FILE);
  if (!existsSync(file)) throw new AppError('not-found', `no checkpoint at ${file}`);
  const buf = readFileSync(file);
  const bad = (why: string) => new AppError('corrupt', `checkpoint ${file}: ${why}`);
  if (buf.length < 4) throw bad('truncated');
  const hlen = buf.readUInt32LE(0);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8')) as Header;
  } catch {
    throw bad('unreadable header');
  }
  if (header.format !== 'mixup-studio-checkpoint' || header.version !== 1) throw bad('not a MixUp Studio checkpoint (version 1)');
  let off = 4 + hlen;
  off += (4 - (off % 4)) % 4;
  const take = (n: number) => {
    if (off + n * 4 > buf.length) throw bad('truncated');
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(buf.subarray(off, off + n * 4));
    off += n * 4;
    return out;
  };
  const weights = header.weights.map((w) => ({ name: w.name, shape: w.shape, data: take(w.length) }));
  const slots = header.optimizer.slots.map((s) => ({ name: s.name, shape: s.shape, data: take(s.length) }));
  return { epoch: header.epoch, state: header.state, weights, optimizer: { name: header.optimizer.name, step: header.optimizer.step, slots } };
}

/** Puts a checkpoint's weights (by position, checked by name and size) into the model. */
export function restoreWeights(model: tf.LayersModel, ck: Checkpoint): void {
  const ws = model.weights;
  if (ws.length !== ck.weights.length) throw new AppError('corrupt', `checkpoint has ${ck.weights.length} weights, the model ${ws.length}`);
  const tensors = ws.map((w, i) => {
    const c = ck.weights[i];
    if (c.name !== w.originalName || c.data.length !== w.shape.reduce<number>((a, b) => a * Number(b), 1)) {
      throw new AppError('corrupt', `checkpoint weight ${i} is ${c.name} (${c.data.length}), the model's is ${w.originalName}`);
    }
    return tf.tensor(c.data, w.shape as number[]);
  });
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Saves a model in the tfjs file layout (`model.json` + `weights.bin`), atomically per file. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes = data === undefined ? new Uint8Array(0) : Array.isArray(data) ? Buffer.concat(data.map((d) => Buffer.from(d))) : new Uint8Array(data);
      writeFileAtomic(join(dir, 'weights.bin'), [bytes]);
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'mixup-studio',
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileAtomic(join(dir, 'model.json'), [Buffer.from(JSON.stringify(json), 'utf8')]);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
    }),
  );
}

/**
 * Loads a model saved by `saveModel` (or any tfjs layers model folder). The folder is not trusted
 * (./model-files: paths stay inside it, sizes match the manifest, model.json is bounded and never echoed);
 * whatever tfjs then refuses is "not a model file", never a tfjs internal message. `remedy` ends each message
 * ("re-export the run").
 */
export async function loadModel(dir: string, opts: { remedy?: string } = {}): Promise<tf.LayersModel> {
  const saved = readSavedModel(dir, opts.remedy);
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: saved.modelTopology, weightSpecs: saved.weightSpecs, weightData: saved.weightData }),
    );
  } catch {
    // tfjs's messages name layers and weights from the file (its contents): say what failed, not them.
    throw saved.notAModel('its topology and weights do not build a tfjs layers model');
  }
}

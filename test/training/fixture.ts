import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join, resolve } from 'node:path';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import type { Services } from '../../src-main/core/services';

export const SAMPLE = resolve(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist');

/** Copies train/val/test split folders (`counts` images per class each) of the sample into `dir`. */
export function sampleSplits(dir: string, counts: { train: number; val: number; test: number }): string {
  for (const c of readdirSync(SAMPLE).sort()) {
    const files = readdirSync(join(SAMPLE, c)).sort();
    let k = 0;
    for (const split of ['train', 'val', 'test'] as const) {
      mkdirSync(join(dir, split, c), { recursive: true });
      for (const f of files.slice(k, k + counts[split])) copyFileSync(join(SAMPLE, c, f), join(dir, split, c, f));
      k += counts[split];
    }
  }
  return dir;
}

/** Copies `perClass` images of every sample class into `dir` (class folders), in file order. */
export function sampleSubset(dir: string, perClass: number): string {
  for (const c of readdirSync(SAMPLE).sort()) {
    mkdirSync(join(dir, c), { recursive: true });
    for (const f of readdirSync(join(SAMPLE, c)).sort().slice(0, perClass)) copyFileSync(join(SAMPLE, c, f), join(dir, c, f));
  }
  return dir;
}

export interface Called {
  events: { topic: string; data: any }[];
  controller: AbortController;
}

/** Calls an operation in-process, as the CLI/IPC do, collecting its events. */
export async function call<T = any>(
  services: Services,
  name: string,
  input: unknown,
  onEvent?: (topic: string, data: any, c: Called) => void,
): Promise<T & { __events: Called['events'] }> {
  const c: Called = { events: [], controller: new AbortController() };
  const out = (await invokeOperation(operations, name, input, {
    services,
    signal: c.controller.signal,
    emit: (topic, data) => {
      c.events.push({ topic, data });
      onEvent?.(topic, data, c);
    },
  })) as T & { __events: Called['events'] };
  if (out && typeof out === 'object') Object.defineProperty(out, '__events', { value: c.events, enumerable: false });
  return out;
}

export const baseConfig = {
  seed: 5,
  epochs: 4,
  batchSize: 32,
  model: { arch: 'cnn-small', inputSize: [12, 12], channels: 1 },
  optimizer: { name: 'adam', lr: 0.003 },
  mixup: { alpha: 0.2, offEpoch: 3 },
};

/** The per-epoch numbers two runs must share exactly (seconds excluded). */
export function epochNumbers(epochs: any[]) {
  return epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, valLoss: e.valLoss, valAccuracy: e.valAccuracy, ece: e.ece, nll: e.nll, lr: e.lr, mixup: e.mixup }));
}

/**
 * Writes a PNG that passes the index's structural check (chunks, CRCs, IEND) but cannot be decoded: the IDAT
 * payload of a real image is replaced by bytes that are not a zlib stream, with a correct CRC.
 */
export function undecodablePng(from: string, to: string): void {
  const b = Buffer.from(readFileSync(from));
  let pos = 8;
  while (pos + 8 <= b.length) {
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (type === 'IDAT') {
      for (let i = 0; i < len; i++) b[pos + 8 + i] = (i * 37 + 11) & 0xff;
      b.writeUInt32BE(crc32(b.subarray(pos + 4, pos + 8 + len)) >>> 0, pos + 8 + len);
    }
    pos += 12 + len;
  }
  writeFileSync(to, b);
}

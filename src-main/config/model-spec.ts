/**
 * Model specs without tfjs: the architecture names, their block names (what `mixup.manifold.layers` may
 * name) and the checks a spec must pass. Light enough for the CLI to validate a config before any work.
 */
import { AppError } from '../core/errors';

/** The architectures, in the one list every schema, message and screen takes them from. */
export const ARCHS = ['cnn-small', 'resnet20', 'mobilenetv2'] as const;
export type Arch = (typeof ARCHS)[number];

export interface ModelSpec {
  arch: Arch | string;
  inputSize: [number, number] | number[];
  channels: number;
  numClasses: number;
}

const BLOCKS: Record<Arch, string[]> = {
  'cnn-small': ['conv1', 'conv2', 'fc', 'logits'],
  resnet20: ['stem', 'stage1', 'stage2', 'stage3', 'logits'],
  mobilenetv2: ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'head', 'logits'],
};

/** The block names of an architecture, in order; the last block outputs the logits. */
export function blockNamesFor(arch: string): string[] {
  const names = BLOCKS[arch as Arch];
  if (!names) throw new AppError('input', `model.arch: unknown architecture '${arch}' (one of ${ARCHS.join(', ')})`);
  return [...names];
}

export function validateModelSpec(spec: ModelSpec): void {
  if (!ARCHS.includes(spec.arch as Arch)) {
    throw new AppError('input', `model.arch: unknown architecture '${String(spec.arch)}' (one of ${ARCHS.join(', ')})`);
  }
  const size = spec.inputSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 4 && v <= 1024)) {
    throw new AppError('input', `model.inputSize: expected [height, width] with integers 4..1024, got ${JSON.stringify(size)}`);
  }
  if (spec.channels !== 1 && spec.channels !== 3) {
    throw new AppError('input', `model.channels: expected 1 or 3, got ${JSON.stringify(spec.channels)}`);
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new AppError('input', `numClasses: a classifier needs at least 2 classes, got ${spec.numClasses}`);
  }
  const minSide = spec.arch === 'cnn-small' ? 6 : spec.arch === 'resnet20' ? 4 : 16;
  if (Math.min(size[0], size[1]) < minSide) {
    throw new AppError('input', `model.inputSize: ${spec.arch} needs images of at least ${minSide}×${minSide}, got ${size.join('×')}`);
  }
}


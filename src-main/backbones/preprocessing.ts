/**
 * What a backbone takes as input, and how the pixels of one image become that input: `x = (pixel·scale − mean[c]) /
 * std[c]`, at `inputSize`, resized by `resize`, laid out as `layout` (one image of the batch).
 */
import { AppError } from '../core/errors';
import type { Preprocessing, ResizeMode } from '../config/preprocessing';

export type Layout = 'NCHW' | 'NHWC';

/** A run's Preprocessing (config/preprocessing.ts) with the layout a backbone always states. */
export type BackbonePreprocessing = Omit<Preprocessing, 'layout' | 'backbone'> & { layout: Layout };

/** What the user may say on import (`--input-size`, `--channels`, …); anything left out is read or defaulted. */
export interface PreprocessingFlags {
  inputSize?: [number, number];
  channels?: 1 | 3;
  layout?: Layout;
  scale?: number;
  mean?: number[];
  std?: number[];
  resize?: ResizeMode;
}

/** ImageNet's statistics: what timm, torchvision and Keras applications' "torch" mode normalise with. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * The preprocessing of a backbone: what the model file says (`read`) wins where it is definite; flags fill in
 * the rest, and override nothing the file fixes (a flag that contradicts the file is an input error naming both).
 * Defaults: scale 1/255, ImageNet mean/std for 3 channels (0 and 1 for grey), 'center-crop'.
 */
export function resolvePreprocessing(read: Partial<Pick<BackbonePreprocessing, 'inputSize' | 'channels' | 'layout'>>, flags: PreprocessingFlags, file: string): BackbonePreprocessing {
  const pick = <K extends 'inputSize' | 'channels' | 'layout'>(key: K, flag: string, show: (v: NonNullable<BackbonePreprocessing[K]>) => string) => {
    const fromFile = read[key];
    const fromFlag = flags[key];
    if (fromFile !== undefined && fromFlag !== undefined && show(fromFile as never) !== show(fromFlag as never)) {
      throw new AppError('input', `${flag}: ${file} takes ${show(fromFile as never)}, not ${show(fromFlag as never)}`);
    }
    return (fromFile ?? fromFlag) as BackbonePreprocessing[K] | undefined;
  };
  const layout = pick('layout', '--layout', (v) => v) ?? 'NCHW';
  const channels = pick('channels', '--channels', (v) => String(v));
  const inputSize = pick('inputSize', '--input-size', (v) => v.join(','));
  if (channels === undefined) throw new AppError('input', `--channels: ${file} does not say how many channels its input has; give --channels 1 or 3`);
  if (inputSize === undefined) throw new AppError('input', `--input-size: ${file} does not fix its input size; give --input-size H,W (e.g. 224,224)`);
  const mean = flags.mean ?? (channels === 3 ? IMAGENET_MEAN : [0]);
  const std = flags.std ?? (channels === 3 ? IMAGENET_STD : [1]);
  const perChannel = (v: number[], flag: string) => {
    if (v.length === 1) return Array.from({ length: channels }, () => v[0]!);
    if (v.length !== channels) throw new AppError('input', `${flag}: give 1 or ${channels} values, got ${v.length}`);
    return v;
  };
  const stdC = perChannel(std, '--std');
  if (stdC.some((s) => !(s > 0))) throw new AppError('input', '--std: every value must be > 0');
  const scale = flags.scale ?? 1 / 255;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new AppError('input', `--scale: must be a positive number, got ${scale}`);
  return { inputSize, channels, scale, mean: perChannel(mean, '--mean'), std: stdC, resize: flags.resize ?? 'center-crop', layout };
}

/**
 * Writes the input of one image (`h·w·c` uint8 pixels, channels last) into `out` at image `slot` of a batch laid
 * out as `p.layout`, normalised.
 */
export function writeInput(pixels: Uint8Array, p: BackbonePreprocessing, out: Float32Array, slot: number): void {
  const [h, w] = p.inputSize;
  const c = p.channels;
  const px = h * w;
  const base = slot * px * c;
  if (pixels.length !== px * c) throw new AppError('internal', `expected ${px * c} pixel values, got ${pixels.length}`);
  for (let ch = 0; ch < c; ch++) {
    const a = p.scale / p.std[ch]!;
    const b = -p.mean[ch]! / p.std[ch]!;
    if (p.layout === 'NCHW') {
      const o = base + ch * px;
      for (let i = 0; i < px; i++) out[o + i] = pixels[i * c + ch]! * a + b;
    } else {
      for (let i = 0; i < px; i++) out[base + i * c + ch] = pixels[i * c + ch]! * a + b;
    }
  }
}

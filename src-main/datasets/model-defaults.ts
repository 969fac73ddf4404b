/** What a dataset implies for a run's model when the config leaves it open (`model.inputSize`, channels). */
import { withDatasetDefaults, type RunConfig } from '../config/run-config';
import type { UsableImage } from './repository';

/** The model shape defaults a dataset implies: its most common training image size, and grey (1) or RGB (3). */
export function datasetModelDefaults(images: readonly Pick<UsableImage, 'width' | 'height' | 'channels'>[]): {
  inputSize: [number, number] | null;
  channels: 1 | 3;
} {
  const counts = new Map<string, { h: number; w: number; n: number }>();
  let allGrey = images.length > 0;
  for (const im of images) {
    if (!(im.width > 0 && im.height > 0)) continue;
    const key = `${im.height}x${im.width}`;
    const c = counts.get(key);
    if (c) c.n += 1;
    else counts.set(key, { h: im.height, w: im.width, n: 1 });
    if (im.channels !== 1 && im.channels !== 2) allGrey = false;
  }
  const best = [...counts.values()].sort((x, y) => y.n - x.n || x.h - y.h || x.w - y.w)[0];
  const clamp = (v: number) => Math.max(8, Math.min(1024, v));
  return { inputSize: best ? [clamp(best.h), clamp(best.w)] : null, channels: allGrey ? 1 : 3 };
}

/**
 * A run config resolved against a dataset's training images: `model.inputSize` and `model.channels` the config
 * leaves open are the dataset's (unchanged when the images' sizes are unknown). The one resolution `runs:train`,
 * `mixup:preview` and `config:resolve` (the editor's check) share.
 */
export function configForDataset(config: RunConfig, train: readonly Pick<UsableImage, 'width' | 'height' | 'channels'>[]): RunConfig {
  const d = datasetModelDefaults(train);
  return d.inputSize ? withDatasetDefaults(config, { inputSize: d.inputSize, channels: d.channels }) : config;
}

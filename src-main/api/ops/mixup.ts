/** `mixup:preview`: what the sampler would mix, epoch by epoch, over a dataset's training split (no model). */
import { z } from 'zod';
import { defineOp } from '../contract';
import { datasetRef } from '../refs';

export const mixupOps = [
  defineOp({
    name: 'mixup:preview',
    summary: 'Runs the MixUp sampler over the training split for every configured epoch and returns its audit',
    input: z.strictObject({
      dataset: datasetRef,
      config: z.unknown().optional(),
    }),
    async run(ctx, input) {
      const { runConfigFromDocument } = await import('../../config/read-config');
      const { resolveDataset } = await import('../../datasets/repository');
      const { previewMixup } = await import('../../datasets/mixup-preview');
      // The same reading as a file's (an export's config.json included); left out = the defaults.
      const { config } = runConfigFromDocument(input.config === undefined ? {} : input.config, 'config');
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return previewMixup(ctx.services.db, ds, config, {
        signal: ctx.signal,
        onProgress: (done, total, label) => ctx.emit('preview.progress', { done, total, label }),
      });
    },
  }),
];

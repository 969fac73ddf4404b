/** The run config's JSON Schema and its resolution (defaults filled, checked, optionally against a dataset). */
import { z } from 'zod';
import { defineOp } from '../contract';
import { datasetRef } from '../refs';
import { runConfigFromDocument } from '../../config/read-config';
import { runConfigJsonSchema } from '../../config/run-config';

export const configOps = [
  defineOp({
    name: 'config:schema',
    summary: 'The JSON Schema of the run config',
    input: z.strictObject({}),
    run: () => runConfigJsonSchema(),
  }),
  defineOp({
    name: 'config:resolve',
    summary: 'A run config with every default filled in (model size/channels from the dataset when given)',
    input: z.strictObject({
      config: z.unknown().optional(),
      dataset: datasetRef.optional(),
    }),
    async run(ctx, input) {
      // The same reading as a file's (an export's config.json included); left out = the defaults.
      const { config } = runConfigFromDocument(input.config === undefined ? {} : input.config, 'config');
      // A run on a backbone takes the backbone's input shape, and what it refuses is refused here too.
      if (config.model.backbone) {
        const { backboneConfig } = await import('../../training/prepare-run');
        return backboneConfig(ctx.services.db, config, 'config');
      }
      if (input.dataset === undefined) return config;
      const { resolveDataset, listUsableImages } = await import('../../datasets/repository');
      const { configForDataset } = await import('../../datasets/model-defaults');
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return configForDataset(config, listUsableImages(ctx.services.db, ds.id, { split: 'train' }));
    },
  }),
];

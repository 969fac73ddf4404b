import { z } from 'zod';
import { defineOp } from '../contract';
import { datasetRef, pathText } from '../refs';
import type { DatasetSummary } from '../../datasets/summary';
import type { ScanResult } from '../../datasets/scan';
import type { VerifyResult } from '../../datasets/verify';


export interface IndexResult extends ScanResult {
  /** Present with `verify: true`: the decode + thumbnail pass that followed the scan. */
  verify?: VerifyResult;
}

export type { DatasetListItem, GalleryItem } from '../../datasets/catalog';

export const datasetsOps = [
  defineOp({
    name: 'datasets:index',
    summary: 'Create or update a dataset from a folder (class folders, split folders or a CSV manifest)',
    input: z
      .object({
        root: pathText(),
        name: z.string().min(1).optional(),
        manifest: pathText().optional(),
        valFraction: z.number().min(0).lt(1).optional(),
        seed: z.union([z.string(), z.number()]).optional(),
        verify: z.boolean().optional(),
      })
      .strict(),
    async run(ctx, input): Promise<IndexResult> {
      const { scanDataset } = await import('../../datasets/scan');
      const result: IndexResult = await scanDataset(ctx.services.db, {
        root: input.root,
        name: input.name,
        manifest: input.manifest,
        valFraction: input.valFraction,
        seed: input.seed,
        signal: ctx.signal,
        onProgress: (p) => ctx.emit('index.progress', p),
      });
      if (!input.verify) return result;
      const started = performance.now();
      const { verifyDataset } = await import('../../datasets/verify');
      const { summarizeDataset } = await import('../../datasets/summary');
      const verify = await verifyDataset(ctx.services, result.dataset.id, {
        signal: ctx.signal,
        onProgress: (p) => ctx.emit('verify.progress', p),
      });
      const after = summarizeDataset(ctx.services.db, result.dataset.id);
      return {
        ...result,
        ...after,
        seconds: Math.round((result.seconds + (performance.now() - started) / 1000) * 100) / 100,
        verify,
      };
    },
  }),
  defineOp({
    name: 'datasets:verify',
    summary: 'Decode every unverified image once and make its thumbnail; failures become corrupt',
    input: z.object({ dataset: datasetRef }).strict(),
    async run(ctx, input): Promise<VerifyResult> {
      const { verifyDataset } = await import('../../datasets/verify');
      return verifyDataset(ctx.services, input.dataset, {
        signal: ctx.signal,
        onProgress: (p) => ctx.emit('verify.progress', p),
      });
    },
  }),
  defineOp({
    name: 'datasets:list',
    summary: 'Every dataset of the home with its counts',
    input: z.object({}).strict(),
    async run(ctx) {
      const { listDatasetItems } = await import('../../datasets/catalog');
      return listDatasetItems(ctx.services.db);
    },
  }),
  defineOp({
    name: 'datasets:show',
    summary: 'A dataset: classes with split counts, corrupt, skipped, duplicates, excluded',
    input: z.object({ dataset: datasetRef }).strict(),
    async run(ctx, input): Promise<DatasetSummary> {
      const { resolveDataset } = await import('../../datasets/repository');
      const { summarizeDataset } = await import('../../datasets/summary');
      return summarizeDataset(ctx.services.db, resolveDataset(ctx.services.db, input.dataset).id);
    },
  }),
  defineOp({
    name: 'datasets:images',
    summary: 'One page of a dataset’s images (gallery), optionally of one class, split or status',
    input: z
      .object({
        dataset: datasetRef,
        class: z.string().min(1).optional(),
        split: z.enum(['train', 'val', 'test']).optional(),
        status: z.enum(['usable', 'corrupt', 'excluded', 'unverified']).optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(1000).default(100),
        /** Count the matching images (a full index scan: 80 ms at 1,000,000); pages after the first can skip it. */
        withTotal: z.boolean().default(true),
      })
      .strict(),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { imagesPage } = await import('../../datasets/catalog');
      return imagesPage(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input);
    },
  }),
  defineOp({
    name: 'datasets:exclude',
    summary: 'Exclude images from training (curation), with a reason',
    input: z
      .object({ dataset: datasetRef, paths: z.array(z.string().min(1)).min(1), reason: z.string().trim().min(1, 'a reason is required') })
      .strict(),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { setExcludedLogged } = await import('../../curation/actions');
      const { changed } = setExcludedLogged(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input.paths, input.reason);
      return { changed };
    },
  }),
  defineOp({
    name: 'datasets:include',
    summary: 'Include excluded images again',
    input: z.object({ dataset: datasetRef, paths: z.array(z.string().min(1)).min(1), reason: z.string().optional() }).strict(),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { setExcludedLogged } = await import('../../curation/actions');
      const { changed } = setExcludedLogged(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input.paths, null);
      return { changed };
    },
  }),
];

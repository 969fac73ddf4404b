/**
 * Curation from embeddings (issue 14): `curation:run` (the `curate` verb), the stored pass (`curation:show`,
 * `curation:map`), and what the user does about it, each logged for undo: `datasets:relabel`, `curation:mark`,
 * `curation:accept-pair`, `curation:undo`, `curation:log`. (Exclude and include are `datasets:exclude` /
 * `datasets:include`, logged the same way.)
 */
import { z } from 'zod';
import { defineOp } from '../contract';
import { backboneRef, datasetRef } from '../refs';

const paths = z.array(z.string().min(1)).min(1, 'name at least one image');

export const curationOps = [
  defineOp({
    name: 'curation:run',
    summary: 'Label issues, near-duplicates, outliers and confusable pairs from a backbone’s embeddings (computed where missing), stored with the dataset',
    input: z.strictObject({
      dataset: datasetRef,
      backbone: backboneRef,
      folds: z.number().int().min(2).max(20).optional(),
      seed: z.union([z.number().int(), z.string().min(1)]).optional(),
      alpha: z.number().min(0).max(100).optional(),
      duplicateThreshold: z.number().min(0).max(1).optional(),
      shortlist: z.number().min(-1).max(1).optional(),
      top: z.number().int().min(1).max(100_000).optional(),
      map: z.enum(['umap', 'pca', 'none']).optional(),
      intrusion: z.enum(['embeddings', 'images']).optional(),
    }),
    async run(ctx, input) {
      const { curateDataset } = await import('../../curation/curate');
      const { dataset, backbone, ...opts } = input;
      return curateDataset(ctx.services, dataset, backbone, {
        ...opts,
        signal: ctx.signal,
        onProgress: (label, done, total) => ctx.emit('curate.progress', { done, total, label }),
      });
    },
  }),
  defineOp({
    name: 'curation:show',
    summary: 'The stored curation pass of a dataset (the newest, or the named backbone’s), each finding with where it stands now',
    input: z.strictObject({ dataset: datasetRef, backbone: backboneRef.optional() }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { curationView } = await import('../../curation/review');
      return curationView(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input.backbone);
    },
  }),
  defineOp({
    name: 'curation:list',
    summary: 'The stored curation passes of a dataset, newest first: backbone, when, and whether a rescan made each stale',
    input: z.strictObject({ dataset: datasetRef }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { contentHash, listCurations } = await import('../../curation/repository');
      const ds = resolveDataset(ctx.services.db, input.dataset);
      const now = contentHash(ctx.services.db, ds.id);
      return listCurations(ctx.services.db, ds.id).map((c) => ({ backbone: c.backbone, createdAt: c.createdAt, stale: c.content !== now }));
    },
  }),
  defineOp({
    name: 'curation:map',
    summary: 'The 2-D map of the stored pass: every image’s x, y, class and flags (label suspect 1, outlier 2, near-duplicate 4)',
    input: z.strictObject({ dataset: datasetRef, backbone: backboneRef.optional() }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { curationMap } = await import('../../curation/review');
      return curationMap(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input.backbone);
    },
  }),
  defineOp({
    name: 'datasets:relabel',
    summary: 'Relabel images (an override kept in the index; the files never move), or restore the class their folder gives (class null)',
    input: z.strictObject({ dataset: datasetRef, paths, class: z.string().min(1).nullable() }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { relabelImages } = await import('../../curation/actions');
      return relabelImages(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input.paths, input.class);
    },
  }),
  defineOp({
    name: 'curation:mark',
    summary: 'Record a verdict on a finding: kept (a suspect, outlier or near-duplicate group that is fine), dismissed (a pair suggestion); null clears it',
    input: z.strictObject({
      dataset: datasetRef,
      kind: z.enum(['label', 'duplicate', 'outlier', 'pair']),
      /** The image's path (a group's first path); for a pair, a and b. */
      key: z.string().min(1).optional(),
      a: z.string().min(1).optional(),
      b: z.string().min(1).optional(),
      verdict: z.enum(['kept', 'dismissed']).nullable(),
    }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { markFinding, pairKey } = await import('../../curation/actions');
      const { AppError } = await import('../../core/errors');
      let key = input.key;
      if (input.kind === 'pair') {
        if (!input.a || !input.b) throw new AppError('input', 'a pair verdict names both classes (a, b)');
        key = pairKey(input.a, input.b);
      }
      if (!key) throw new AppError('input', 'key: name the image (its path)');
      return markFinding(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input.kind, key, input.verdict);
    },
  }),
  defineOp({
    name: 'curation:accept-pair',
    summary: 'Accept a pair suggestion of the stored pass: the policy forbids or down-weights the pair, with the reason as its note',
    input: z.strictObject({ dataset: datasetRef, a: z.string().min(1), b: z.string().min(1), backbone: backboneRef.optional(), weight: z.number().min(0).max(1).optional() }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { acceptSuggestion } = await import('../../curation/suggestions');
      return acceptSuggestion(ctx.services.db, resolveDataset(ctx.services.db, input.dataset), input);
    },
  }),
  defineOp({
    name: 'curation:undo',
    summary: 'Undo the newest curation action (relabel, exclude, include, a verdict, a policy change from a suggestion)',
    input: z.strictObject({ dataset: datasetRef }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { undoLast } = await import('../../curation/actions');
      return undoLast(ctx.services.db, resolveDataset(ctx.services.db, input.dataset));
    },
  }),
  defineOp({
    name: 'curation:log',
    summary: 'The curation actions on a dataset, newest first, with which were undone',
    input: z.strictObject({ dataset: datasetRef }),
    async run(ctx, input) {
      const { resolveDataset } = await import('../../datasets/repository');
      const { curationLog } = await import('../../curation/actions');
      return curationLog(ctx.services.db, resolveDataset(ctx.services.db, input.dataset).id);
    },
  }),
];

/**
 * Pretrained backbones and their embeddings: `backbones:import`, `backbones:list`, `backbones:show`,
 * `backbones:remove`, `embeddings:compute`. onnxruntime and sharp load inside `run`.
 */
import { z } from 'zod';
import { defineOp } from '../contract';
import { backboneRef, datasetRef, pathText } from '../refs';
import type { BackboneInfo } from '../../backbones/repository';

const perChannel = z.array(z.number().finite()).min(1).max(3);

export const backbonesOps = [
  defineOp({
    name: 'backbones:import',
    summary: 'Copies a pretrained model (an .onnx file) into the home under its sha256 and registers it as a backbone, with the preprocessing it takes',
    input: z.strictObject({
      path: pathText('name the model file'),
      name: z.string().min(1, 'give the backbone a name'),
      inputSize: z.tuple([z.number().int().min(8).max(4096), z.number().int().min(8).max(4096)]).optional(),
      channels: z.union([z.literal(1), z.literal(3)]).optional(),
      layout: z.enum(['NCHW', 'NHWC']).optional(),
      scale: z.number().positive().finite().optional(),
      mean: perChannel.optional(),
      std: perChannel.optional(),
      resize: z.enum(['fill', 'center-crop']).optional(),
      output: z.string().min(1).optional(),
    }),
    async run(ctx, input) {
      const { importBackbone } = await import('../../backbones/import');
      const { path, ...opts } = input;
      const backbone = await importBackbone(ctx.services, path, { ...opts, signal: ctx.signal });
      return { backbone: publicBackbone(backbone) };
    },
  }),
  defineOp({
    name: 'backbones:list',
    summary: 'The imported backbones: name, format, feature size, when imported',
    input: z.strictObject({}),
    async run(ctx) {
      const { listBackbones } = await import('../../backbones/repository');
      return listBackbones(ctx.services.db);
    },
  }),
  defineOp({
    name: 'backbones:show',
    summary: 'One backbone: its preprocessing, file, size on disk and what the embedding store holds for it',
    input: z.strictObject({ backbone: backboneRef }),
    async run(ctx, input) {
      const { resolveBackbone, embeddingStats } = await import('../../backbones/repository');
      const b = resolveBackbone(ctx.services.db, input.backbone);
      return { ...publicBackbone(b), file: b.file, bytes: b.bytes, source: b.source, inputName: b.inputName, outputName: b.outputName, createdAt: b.createdAt, embeddings: embeddingStats(ctx.services.db, b.id) };
    },
  }),
  defineOp({
    name: 'backbones:remove',
    summary: 'Removes a backbone, its copy in the home and its cached embeddings (refused while a run names it, unless force)',
    input: z.strictObject({ backbone: backboneRef, force: z.boolean().default(false) }),
    async run(ctx, input) {
      const { removeBackbone } = await import('../../backbones/remove');
      return removeBackbone(ctx.services, input.backbone, { force: input.force });
    },
  }),
  defineOp({
    name: 'embeddings:compute',
    summary: "Every usable image's embedding by a backbone, computed once per (content, backbone) and cached in the home",
    input: z.strictObject({
      dataset: datasetRef,
      backbone: backboneRef,
      batch: z.number().int().min(1).max(1024).optional(),
    }),
    async run(ctx, input) {
      const { computeEmbeddings } = await import('../../backbones/embed');
      return computeEmbeddings(ctx.services, input.dataset, input.backbone, {
        batch: input.batch,
        signal: ctx.signal,
        onProgress: (done, total, label) => ctx.emit('embed.progress', { done, total, label }),
      });
    },
  }),
];

/** The CLI.md shape of a backbone: id, name, format, featureSize, preprocessing, sha256. */
function publicBackbone(b: BackboneInfo) {
  return { id: b.id, name: b.name, format: b.format, featureSize: b.featureSize, preprocessing: b.preprocessing, sha256: b.sha256 };
}

/**
 * Export, compare and predict: `runs:export`, `runs:compare`, `models:predict`, `datasets:export`.
 * Heavy modules (tfjs, sharp, the ONNX writer) are imported inside `run`.
 */
import { z } from 'zod';
import { defineOp } from '../contract';
import { backendName, datasetRef, pathText, runRef } from '../refs';
import { AppError } from '../../core/errors';

const format = z.enum(['tfjs', 'onnx']);

export const exportOps = [
  defineOp({
    name: 'runs:export',
    summary: 'Writes a trained run as tfjs/ + model.onnx + labels.json + config.json + report.html into a new or empty folder',
    input: z.strictObject({
      run: runRef,
      out: z.string().min(1, 'name the folder to write'),
      formats: z.array(format).min(1, 'name at least one of tfjs, onnx').default(['tfjs', 'onnx']),
    }),
    async run(ctx, input) {
      const { exportRun } = await import('../../export/export-run');
      return exportRun(ctx.services, input, {
        signal: ctx.signal,
        onProgress: (done, total, label) => ctx.emit('export.progress', { done, total, label }),
      });
    },
  }),
  defineOp({
    name: 'runs:compare',
    summary: 'Config diff (dotted keys that differ), final and best metrics, curves by epoch and per-class accuracy of two or more runs',
    input: z.strictObject({
      runs: z.array(runRef).min(2, 'name at least two runs to compare'),
    }),
    async run(ctx, input) {
      const { getRun } = await import('../../training/runs-repository');
      const { compareRuns } = await import('../../export/compare');
      const seen = new Set<number>();
      for (const id of input.runs) {
        if (seen.has(id)) throw new AppError('input', `RUN: run ${id} is named twice`);
        seen.add(id);
      }
      return compareRuns(input.runs.map((id) => getRun(ctx.services.db, id)));
    },
  }),
  defineOp({
    name: 'models:predict',
    summary: 'Classifies image files with an exported model folder (tfjs model, labels.json, config.json preprocessing)',
    input: z.strictObject({
      modelDir: pathText('name the exported model folder'),
      images: z.array(pathText()).min(1, 'name at least one image file'),
      top: z.number().int().min(1, 'must be ≥ 1').default(3),
      backend: backendName.optional(),
    }),
    async run(ctx, input) {
      const { predictImages } = await import('../../export/predict');
      return predictImages(input.modelDir, input.images, { top: input.top, signal: ctx.signal, backend: input.backend });
    },
  }),
  defineOp({
    name: 'datasets:export',
    summary: 'Writes manifest.csv (path,label,split,excluded_reason) and policy.json of a dataset into a new or empty folder',
    input: z.strictObject({
      dataset: datasetRef,
      out: z.string().min(1, 'name the folder to write'),
    }),
    async run(ctx, input) {
      const { exportDataset } = await import('../../export/dataset-export');
      return exportDataset(ctx.services, input);
    },
  }),
];

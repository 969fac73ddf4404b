/**
 * Sweeps (issue 16): `sweeps:run` (the `sweep` verb: trials of a run config over swept keys, one ordinary run
 * each), `sweeps:resume`, `sweeps:cancel`, `sweeps:show`, `sweeps:list`. The document is CLI.md's.
 */
import { z } from 'zod';
import { defineOp, type OpContext } from '../contract';
import { backendName, datasetRef } from '../refs';
import { AppError } from '../../core/errors';
import type { EventMap } from '../events';

const sweepRef = z.union([z.number().int().positive(), z.string().regex(/^\d+$/, 'must be a sweep id (a number)').transform(Number)]);

function sweepEvents(ctx: OpContext) {
  return {
    emit: (topic: string, data: unknown) => ctx.emit(topic as keyof EventMap, data as never),
    signal: ctx.signal,
    transport: ctx.trainingTransport,
  };
}

export const sweepsOps = [
  defineOp({
    name: 'sweeps:run',
    summary: 'Trains a run config over the swept keys (grid, random or bayes; Hyperband early stopping), one ordinary run per trial, and waits for the sweep to end',
    input: z.strictObject({
      dataset: datasetRef,
      config: z.unknown(),
      configSource: z.string().optional(),
      params: z.array(z.string().min(1)).min(1, 'name at least one parameter to sweep (e.g. mixup.alpha=0.1,0.2,0.4)'),
      method: z.enum(['grid', 'random', 'bayes']).optional(),
      trials: z.number().int().min(1).max(10_000).optional(),
      metric: z.enum(['valLoss', 'valAccuracy', 'ece', 'eceCalibrated']).optional(),
      earlyStop: z.enum(['none', 'hyperband']).optional(),
      eta: z.number().min(1.5).max(10).optional(),
      minEpochs: z.number().int().min(1).max(10_000).optional(),
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
      parallel: z.number().int().min(1).max(64).optional(),
      backend: backendName.optional(),
      threads: z.number().int().min(1).max(64).optional(),
    }),
    async run(ctx, input) {
      if (input.config === undefined) throw new AppError('input', '--config: the base run config is required (see `mixup-studio config schema`)');
      const { runSweep } = await import('../../sweeps/run-sweep');
      return runSweep(ctx.services, input, sweepEvents(ctx));
    },
  }),
  defineOp({
    name: 'sweeps:resume',
    summary: 'Continues an interrupted or cancelled sweep: finished trials are kept, the trial that was running resumes its run',
    input: z.strictObject({ sweep: sweepRef }),
    async run(ctx, input) {
      const { resumeSweep } = await import('../../sweeps/run-sweep');
      return resumeSweep(ctx.services, input.sweep, sweepEvents(ctx));
    },
  }),
  defineOp({
    name: 'sweeps:cancel',
    summary: 'Asks a running sweep to stop: its running trials stop at their next batch (resumable), and it waits until the sweep has ended',
    input: z.strictObject({ sweep: sweepRef, waitSeconds: z.number().min(0).max(600).default(60) }),
    async run(ctx, input) {
      const repo = await import('../../sweeps/repository');
      const db = ctx.services.db;
      const s = repo.getSweep(db, input.sweep);
      if (s.status === 'interrupted') {
        // Nobody runs it: stored as cancelled (resume still continues it).
        repo.finishSweep(db, s.id, 'cancelled');
        return { sweep: { id: s.id }, status: 'cancelled' as const };
      }
      if (s.status !== 'running') throw new AppError('conflict', `sweep ${s.id} is not running (status ${s.status})`);
      repo.requestCancel(db, s.id);
      const deadline = Date.now() + input.waitSeconds * 1000;
      let status = repo.getSweep(db, s.id).status;
      while (status === 'running' && Date.now() < deadline && !ctx.signal.aborted) {
        await new Promise((r) => setTimeout(r, 200));
        status = repo.getSweep(db, s.id).status;
      }
      return { sweep: { id: s.id }, status };
    },
  }),
  defineOp({
    name: 'sweeps:show',
    summary: 'One sweep: its space, every trial (run, params, status, epochs, metrics, curve) and the best trial',
    input: z.strictObject({ sweep: sweepRef }),
    async run(ctx, input) {
      const { getSweep, sweepDoc } = await import('../../sweeps/repository');
      return sweepDoc(ctx.services.db, getSweep(ctx.services.db, input.sweep));
    },
  }),
  defineOp({
    name: 'sweeps:list',
    summary: 'Every sweep, oldest first: id, dataset, status, when, how many trials are done',
    input: z.strictObject({}),
    async run(ctx) {
      const { listSweeps } = await import('../../sweeps/repository');
      return listSweeps(ctx.services.db).map((s) => ({
        id: s.id,
        dataset: s.datasetName,
        datasetId: s.datasetId,
        status: s.status,
        createdAt: s.createdAt,
        finishedAt: s.finishedAt,
        method: s.spec.method,
        metric: s.spec.metric,
        keys: s.spec.space.map((p) => p.key),
        trials: s.spec.trials,
        done: s.trials.filter((t) => t.status === 'completed' || t.status === 'stopped' || t.status === 'failed').length,
      }));
    },
  }),
  defineOp({
    name: 'sweeps:train-best',
    summary: "Trains the sweep's best config again on train + val (trainOn 'train+val'), for the model to export; waits for the run",
    input: z.strictObject({ sweep: sweepRef, allData: z.boolean().default(true) }),
    async run(ctx, input) {
      const { getSweep, sweepDoc } = await import('../../sweeps/repository');
      const { getRun } = await import('../../training/runs-repository');
      const { runsOps } = await import('./runs');
      const doc = sweepDoc(ctx.services.db, getSweep(ctx.services.db, input.sweep));
      if (!doc.best) throw new AppError('conflict', `sweep ${doc.sweep.id} has no completed trial yet: nothing to train again`);
      if (doc.datasetId === null) throw new AppError('not-found', `sweep ${doc.sweep.id}: its dataset '${doc.dataset}' was removed`);
      const best = getRun(ctx.services.db, doc.best.run.id);
      const config = { ...best.config, trainOn: input.allData ? 'train+val' : 'train' };
      const train = runsOps.find((o) => o.name === 'runs:train')!;
      // The same operation as `train`: one path for a new run.
      return train.run(ctx, train.input.parse({ dataset: doc.datasetId, config, configSource: `sweep ${doc.sweep.id}'s best (trial ${doc.best.index + 1}, run ${best.id})` }));
    },
  }),
];

/**
 * Sweeps end to end (issue 16), real short trainings on Fashion-MNIST images (sharp, tfjs on wasm in the
 * training child, a SQLite home): a grid covers exactly its points, each trial an ordinary run tagged with its
 * sweep; `best` really is the best completed trial; Hyperband stops at least one trial early, at a rung, and
 * never the best; random and bayes sweeps are the same under one seed; a bad key or value is refused before any
 * trial starts, naming it, with nothing written; `sweeps:cancel` from another caller stops the running trial
 * cleanly and `sweeps:resume` finishes without re-running what finished.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { tempDir, tempServices } from '../helpers/temp';
import { call, sampleSplits } from '../training/fixture';

const services = tempServices();
const data = tempDir('mixup-sweep-data-');

const base = {
  seed: 5,
  epochs: 4,
  batchSize: 32,
  model: { arch: 'cnn-small', inputSize: [12, 12], channels: 1 },
  optimizer: { name: 'adam', lr: 0.003 },
  mixup: { alpha: 0.2 },
};

beforeAll(async () => {
  sampleSplits(join(data.dir, 'fm'), { train: 20, val: 8, test: 2 });
  await call(services, 'datasets:index', { root: join(data.dir, 'fm'), name: 'fm' });
}, 120_000);
afterAll(() => {
  services.cleanup();
  data.cleanup();
});

const count = (table: string) => services.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe('sweep', () => {
  it('a grid runs exactly its points, each an ordinary run tagged with the sweep; best is the best completed trial', async () => {
    const doc = await call<any>(services, 'sweeps:run', { dataset: 'fm', config: base, params: ['mixup.alpha=0,0.4', 'optimizer.lr=0.003,0.01'], metric: 'valAccuracy' });
    expect(doc.status).toBe('completed');
    expect(doc.trials.map((t: any) => t.params)).toEqual([
      { 'mixup.alpha': 0, 'optimizer.lr': 0.003 },
      { 'mixup.alpha': 0, 'optimizer.lr': 0.01 },
      { 'mixup.alpha': 0.4, 'optimizer.lr': 0.003 },
      { 'mixup.alpha': 0.4, 'optimizer.lr': 0.01 },
    ]);
    const runs = await call<any[]>(services, 'runs:list', {});
    for (const t of doc.trials) {
      expect(t.status).toBe('completed');
      expect(t.epochs).toBe(4);
      const run = await call<any>(services, 'runs:show', { run: t.run.id });
      // The run trained what the trial says: the swept keys set, the rest the base config's.
      expect(run.config.mixup.alpha).toBe(t.params['mixup.alpha']);
      expect(run.config.optimizer.lr).toBe(t.params['optimizer.lr']);
      expect(run.config.seed).toBe(5);
      expect(t.metrics.valAccuracy).toBe(run.metrics.valAccuracy);
      // Each completed run is temperature-scaled on val and measured on test (what --metric eceCalibrated ranks by).
      expect(run.metrics.temperature).toBeGreaterThan(0);
      expect(run.metrics.calibration).toMatchObject({ split: 'test', count: 20 });
      // The sweep ranks by the val figure (where T was fitted): the test split stays out of every choice.
      expect(t.metrics.eceCalibrated).toBe(run.metrics.calibration.val.eceCalibrated);
      expect(runs.find((r) => r.id === t.run.id)!.sweep).toEqual({ id: doc.sweep.id, trial: t.index });
    }
    const best = Math.max(...doc.trials.map((t: any) => t.metrics.valAccuracy));
    expect(doc.best.metrics.valAccuracy).toBe(best);
    expect(doc.best.run.id).toBe(doc.trials.find((t: any) => t.metrics.valAccuracy === best).run.id);
    // What the trials cost beyond their epochs' training: the set-up is shared, not repeated.
    const overheads = doc.trials.slice(1).map((t: any) => t.overheadSeconds);
    expect(Math.max(...overheads)).toBeLessThan(2);
    const shown = await call<any>(services, 'sweeps:show', { sweep: doc.sweep.id });
    expect(shown.trials.map((t: any) => t.run.id)).toEqual(doc.trials.map((t: any) => t.run.id));
  }, 180_000);

  it('hyperband stops at least one trial early, at a rung, and never the best at that rung', async () => {
    const doc = await call<any>(services, 'sweeps:run', {
      dataset: 'fm',
      config: { ...base, epochs: 6 },
      params: ['optimizer.lr=0.0003,0.003,0.01', 'mixup.alpha=0,1'],
      earlyStop: 'hyperband',
    });
    expect(doc.status).toBe('completed');
    const stopped = doc.trials.filter((t: any) => t.status === 'stopped');
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    for (const t of stopped) {
      expect([1, 3]).toContain(t.stoppedAt);
      expect(t.epochs).toBe(t.stoppedAt);
      const run = await call<any>(services, 'runs:show', { run: t.run.id });
      expect(run.status).toBe('cancelled');
      expect(run.error).toMatch(/stopped early after epoch/);
    }
    // The first trial has nobody to lose to; the trial best at each rung among those before it went on.
    expect(doc.trials[0].status).toBe('completed');
    expect(doc.best).not.toBeNull();
    expect(doc.trials.filter((t: any) => t.status === 'completed').length).toBeGreaterThanOrEqual(1);
    for (const t of stopped) {
      const mine = t.curve[t.stoppedAt - 1];
      const earlier = doc.trials.filter((p: any) => p.index < t.index && p.curve.length >= t.stoppedAt).map((p: any) => p.curve[t.stoppedAt - 1]);
      expect(earlier.some((v: number) => v < mine)).toBe(true);
    }
  }, 180_000);

  it('random and bayes sweeps are the same under one seed', async () => {
    const run = (method: string, seed: number) =>
      call<any>(services, 'sweeps:run', { dataset: 'fm', config: { ...base, epochs: 2 }, params: ['mixup.alpha=0..1', 'optimizer.lr=log:0.001..0.03'], method, trials: 5, seed });
    const r1 = await run('random', 3);
    const r2 = await run('random', 3);
    expect(r2.trials.map((t: any) => t.params)).toEqual(r1.trials.map((t: any) => t.params));
    expect((await run('random', 4)).trials.map((t: any) => t.params)).not.toEqual(r1.trials.map((t: any) => t.params));
    const b1 = await run('bayes', 3);
    const b2 = await run('bayes', 3);
    expect(b1.trials).toHaveLength(5);
    expect(b2.trials.map((t: any) => t.params)).toEqual(b1.trials.map((t: any) => t.params));
    expect(b2.trials.map((t: any) => t.metrics)).toEqual(b1.trials.map((t: any) => t.metrics));
  }, 300_000);

  it('--parallel 2 runs two trials at once, each with its share of the cores', async () => {
    const doc = await call<any>(services, 'sweeps:run', { dataset: 'fm', config: { ...base, epochs: 2 }, params: ['mixup.alpha=0,0.2,0.4,0.6'], parallel: 2 });
    expect(doc.status).toBe('completed');
    expect(doc.trials.map((t: any) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const cores = (await import('node:os')).availableParallelism();
    expect(doc.threadsPerTrial).toBe(Math.max(1, Math.floor(cores / 2)));
    for (const t of doc.trials) {
      const run = await call<any>(services, 'runs:show', { run: t.run.id });
      expect(run.device).toMatch(new RegExp(`\\b${doc.threadsPerTrial} threads?\\b`));
    }
    expect(doc.__events.some((e: any) => e.topic === 'train.warning' && /2 trials at once, \d+ threads? each/.test(e.data.message))).toBe(true);
  }, 180_000);

  it('a bad key or value is refused before any trial starts, naming it, with nothing written', async () => {
    const sweeps = count('sweeps');
    const runs = count('runs');
    const refused = (params: string[], extra: object = {}) => call(services, 'sweeps:run', { dataset: 'fm', config: base, params, ...extra });
    await expect(refused(['mixup.alhpa=0,1'])).rejects.toThrow(/--param mixup.alhpa=0: .*mixup.alhpa: unknown key/);
    await expect(refused(['mixup.alpha=0.2,-1'])).rejects.toThrow(/--param mixup.alpha=-1: .*mixup.alpha: must be ≥ 0/);
    await expect(refused(['mixup.mode=batch,elmo'])).rejects.toThrow(/mixup.mode=elmo: .*mixup.mode/);
    await expect(refused(['model.arch=cnn-small,resnet9000'])).rejects.toThrow(/model.arch=resnet9000/);
    await expect(refused(['mixup.alpha=0..1'])).rejects.toThrow(/a grid needs a list of values/);
    await expect(refused(['mixup.prob=log:0.1..3'], { method: 'bayes' })).rejects.toThrow(/mixup.prob=3: .*mixup.prob: must be ≤ 1/);
    await expect(refused(['model.backbone=none-such'])).rejects.toThrow(/model.backbone: 'none-such' is not imported/);
    // A bayes range is checked inside too: a whole-number key given a real range is refused, with the way to write it.
    await expect(refused(['batchSize=8..64'], { method: 'bayes' })).rejects.toThrow(/batchSize=.*must be an integer.*batchSize=int:LO..HI/);
    // A base config that holds nothing out has no metric to rank by.
    await expect(call(services, 'sweeps:run', { dataset: 'fm', config: { ...base, trainOn: 'train+val' }, params: ['mixup.alpha=0,1'] })).rejects.toThrow(/trainOn: "train\+val" holds nothing out/);
    // A cancel before the first trial (while every config is checked) is a cancel: nothing runs.
    const early = new AbortController();
    early.abort();
    await expect(invokeOperation(operations, 'sweeps:run', { dataset: 'fm', config: base, params: ['mixup.alpha=0,1'] }, { services, signal: early.signal, emit: () => {} })).rejects.toMatchObject({ kind: 'cancelled' });
    expect(count('sweeps')).toBe(sweeps);
    expect(count('runs')).toBe(runs);
  }, 60_000);

  it('a trial whose training process dies stays resumable: the sweep ends failed, and resume finishes it under the same run id', async () => {
    let killed = false;
    const doc = await call<any>(services, 'sweeps:run', { dataset: 'fm', config: { ...base, epochs: 30 }, params: ['mixup.alpha=0,0.3'] }, (topic, d) => {
      if (topic === 'train.epoch' && !killed && d.epoch >= 2 && services.db.prepare('SELECT idx FROM sweep_trials WHERE run_id = ?').pluck().get(d.runId) === 1) {
        killed = true;
        process.kill(services.db.prepare('SELECT pid FROM runs WHERE id = ?').pluck().get(d.runId) as number, 'SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(doc.status).toBe('failed');
    expect(doc.error).toMatch(/training process of trial 2 died; `sweep resume \d+` continues it/);
    expect(doc.trials.map((t: any) => t.status)).toEqual(['completed', 'cancelled']);
    const run = doc.trials[1].run.id;
    const resumed = await call<any>(services, 'sweeps:resume', { sweep: doc.sweep.id });
    expect(resumed.status).toBe('completed');
    expect(resumed.trials[1]).toMatchObject({ status: 'completed', run: { id: run }, epochs: 30 });
  }, 180_000);

  it('a cancel from another caller stops the running trial cleanly; resume keeps the finished trials and runs the rest', async () => {
    let cancelled: Promise<any> | null = null;
    const started: number[] = [];
    const doc = await call<any>(
      services,
      'sweeps:run',
      { dataset: 'fm', config: { ...base, epochs: 40 }, params: ['mixup.alpha=0,0.3,0.6'] },
      (topic, d) => {
        if (topic === 'sweep.trial' && d.status === 'running') started.push(d.index);
        // Once the second trial trains, someone else asks the sweep to stop.
        if (topic === 'train.epoch' && started.includes(1) && !cancelled) cancelled = call(services, 'sweeps:cancel', { sweep: d.runId && services.db.prepare('SELECT sweep_id FROM sweep_trials WHERE run_id = ?').pluck().get(d.runId) });
      },
    );
    expect(doc.status).toBe('cancelled');
    expect((await cancelled!).status).toBe('cancelled');
    expect(doc.trials.map((t: any) => t.status)).toEqual(['completed', 'cancelled', 'pending']);
    const first = doc.trials[0].run.id;
    const second = doc.trials[1].run.id;
    const epochsBefore = (await call<any>(services, 'runs:show', { run: first })).epochs.length;
    expect((await call<any>(services, 'runs:show', { run: second })).status).toBe('cancelled');
    const resumed = await call<any>(services, 'sweeps:resume', { sweep: doc.sweep.id });
    expect(resumed.status).toBe('completed');
    expect(resumed.trials.map((t: any) => t.status)).toEqual(['completed', 'completed', 'completed']);
    // Finished trials kept, not re-run: the same run ids, the first run untouched; the cancelled run resumed.
    expect(resumed.trials[0].run.id).toBe(first);
    expect(resumed.trials[1].run.id).toBe(second);
    expect((await call<any>(services, 'runs:show', { run: first })).epochs.length).toBe(epochsBefore);
    expect((await call<any>(services, 'runs:show', { run: second })).epochs.length).toBe(40);
    await expect(call(services, 'sweeps:resume', { sweep: doc.sweep.id })).rejects.toThrow(/already completed/);
  }, 300_000);
});

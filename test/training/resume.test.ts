import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tempServices } from '../helpers/temp';
import { baseConfig, call, epochNumbers, sampleSubset } from './fixture';

const services = tempServices();
const data = tempDir('mixup-resume-data-');
let reference: any;

beforeAll(async () => {
  sampleSubset(data.dir, 30);
  await call(services, 'datasets:index', { root: data.dir, name: 'fm' });
  reference = await call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'wasm' });
  expect(reference.status).toBe('completed');
}, 120_000);
afterAll(() => {
  services.cleanup();
  data.cleanup();
});

describe('interrupted, cancelled and resumed runs', () => {
  it('marks a run whose child was SIGKILLed mid-epoch interrupted, and --resume gives the same per-epoch metrics as an uninterrupted run', async () => {
    let pid = 0;
    let killed = false;
    const cut = await call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'wasm' }, (topic, d) => {
      if (topic === 'run.status' && d.pid) pid = d.pid;
      if (topic === 'train.progress' && d.phase === 'train' && d.epoch === 2 && d.batch >= 2 && !killed) {
        killed = true;
        process.kill(pid, 'SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(cut.status).toBe('interrupted');
    expect(cut.epochs.map((e: any) => e.epoch)).toEqual([0, 1]);
    const listed = (await call(services, 'runs:list', {})).find((r: any) => r.id === cut.run.id);
    expect(listed.status).toBe('interrupted');

    const resumed = await call(services, 'runs:train', { resume: String(cut.run.id), backend: 'wasm' });
    expect(resumed.run.id).toBe(cut.run.id);
    expect(resumed.status).toBe('completed');
    expect(epochNumbers(resumed.epochs)).toEqual(epochNumbers(reference.epochs));
    const show = await call(services, 'runs:show', { run: cut.run.id });
    expect(show.audit.map((a: any) => a.epoch)).toEqual([0, 1, 2, 3]);
    await expect(call(services, 'runs:train', { resume: cut.run.id })).rejects.toThrow(/already completed/);
  }, 120_000);

  it('cancels at the next batch when the caller aborts, records cancelled, and resumes to the same result', async () => {
    const cancelled = await call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'wasm' }, (topic, d, c) => {
      if (topic === 'train.progress' && d.phase === 'train' && d.epoch === 1 && d.batch === 1) c.controller.abort();
    });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.epochs.length).toBe(1);
    const resumed = await call(services, 'runs:train', { dataset: 'fm', resume: cancelled.run.id, backend: 'wasm' });
    expect(epochNumbers(resumed.epochs)).toEqual(epochNumbers(reference.epochs));
  }, 120_000);

  it('runs:cancel (as from another terminal) signals the run\'s process, which stops at the next batch and records cancelled', async () => {
    let cancelCall: Promise<any> | undefined;
    const training = call(services, 'runs:train', { dataset: 'fm', config: baseConfig, backend: 'wasm' }, (topic, d) => {
      if (topic === 'train.progress' && d.phase === 'train' && d.epoch === 1 && !cancelCall) cancelCall = call(services, 'runs:cancel', { run: d.runId });
    });
    const doc = await training;
    expect(cancelCall).toBeDefined();
    expect((await cancelCall!).status).toBe('cancelled');
    expect(doc.status).toBe('cancelled');
    expect(doc.epochs.length).toBeLessThan(baseConfig.epochs);
  }, 120_000);

  it('refuses to resume with a new config or on another dataset, and cancel of a finished run', async () => {
    await expect(call(services, 'runs:train', { resume: reference.run.id, config: baseConfig })).rejects.toThrow(/leave out --config/);
    await expect(call(services, 'runs:cancel', { run: reference.run.id })).rejects.toThrow(/not running \(status completed\)/);
    await expect(call(services, 'runs:show', { run: 999 })).rejects.toThrow(/run 999 does not exist/);
  });
});

/**
 * Items 7 and 8 of issue #11, training side. A training works on the file list it took at its start: a file
 * that a rescan removed before the decode is left out, counted and reported, and the run completes (it used to
 * die with `no image with id N`). A file that cannot be read for a moment is a read error, reported and left
 * out of this run only: it is not marked corrupt, so the next run (or scan) tries it again.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../src-main/config/run-config';
import { datasetFingerprint, listClasses, listUsableImages } from '../../src-main/datasets/repository';
import { createRun, getRun, setRunPaths } from '../../src-main/training/runs-repository';
import { runFolders, trainRun } from '../../src-main/training/train-run';
import { tempDir, tempServices } from '../helpers/temp';
import { baseConfig, call, sampleSplits } from '../training/fixture';
import { makeUnreadable } from './faults';

const services = tempServices();
const data = tempDir('mixup-snapshot-data-');
const repoRoot = resolve(__dirname, '..', '..');
beforeAll(async () => {
  sampleSplits(data.dir, { train: 4, val: 1, test: 0 });
  await call(services, 'datasets:index', { root: data.dir, name: 'fm' });
}, 120_000);
afterAll(() => {
  services.cleanup();
  data.cleanup();
});

describe('training on the file list of its start', () => {
  it('completes when a rescan removed files before the decode, counting them as vanished; an unreadable file is not marked corrupt', async () => {
    const db = services.db;
    const ds = { id: 1, name: 'fm' };
    const classes = listClasses(db, ds.id).map((c) => c.name);
    const config = resolveRunConfig({ ...baseConfig, epochs: 1, batchSize: 16 }, 'test config');
    const fingerprint = datasetFingerprint(db, ds.id);
    const resolved = { ...config, model: { ...config.model, inputSize: [12, 12], channels: 1 }, policy: { pairs: [] }, dataset: { ...ds, fingerprint } };
    const runId = createRun(db, { datasetId: ds.id, datasetName: ds.name, config: resolved, epochsPlanned: 1, classes, datasetFingerprint: fingerprint });
    const f = runFolders(services, runId);
    setRunPaths(db, runId, f.checkpointDir, f.modelDir);

    const bag = join(data.dir, 'train', 'bag');
    const coat = join(data.dir, 'train', 'coat');
    const gone = [join(bag, readdirSync(bag).sort()[0]), join(coat, readdirSync(coat).sort()[0]), join(coat, readdirSync(coat).sort()[1])];
    const unreadable = join(bag, readdirSync(bag).sort()[1]);
    const unreadableRel = `train/bag/${readdirSync(bag).sort()[1]}`;
    let restore: (() => void) | undefined;
    const events: { topic: string; data: any }[] = [];
    let hooked = false;
    const status = await trainRun(
      services,
      { runId, backend: 'wasm', threads: 1, resume: false },
      {
        emit: (topic, d) => events.push({ topic, data: d }),
        // First asked when the decode starts, after the run has taken its file list: delete three files and
        // rescan in another process (as a user's `index` would), then make a fourth unreadable.
        cancelled: () => {
          if (!hooked) {
            hooked = true;
            for (const g of gone) rmSync(g);
            const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src-main', 'cli', 'main.ts'), '--home', services.home, 'index', data.dir, '--name', 'fm', '--json'], {
              cwd: repoRoot,
              encoding: 'utf8',
              env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
            });
            if (r.status !== 0) throw new Error(`rescan failed: ${r.stderr}`);
            expect(JSON.parse(r.stdout).removed).toBe(3);
            restore = makeUnreadable(unreadable);
          }
          return false;
        },
      },
    ).finally(() => restore?.());
    expect(status).toBe('completed');
    expect(getRun(db, runId).status).toBe('completed');
    const warnings = events.filter((e) => e.topic === 'train.warning').map((e) => String(e.data.message));
    expect(warnings.some((w) => /3 images? vanished/.test(w))).toBe(true);
    expect(warnings.some((w) => w.includes(unreadable) && /cannot read/.test(w) && !/\(marked corrupt\)/.test(w))).toBe(true);
    const dataEvent = events.find((e) => e.topic === 'train.data')?.data;
    expect(dataEvent).toMatchObject({ runId, vanished: 3, unreadable: 1, corrupt: 0, images: 50 - 3 - 1 });
    // The unreadable file is still an ordinary image of the dataset (readable again now): not corrupt.
    const row = db.prepare('SELECT status, reason FROM images WHERE rel_path = ?').get(unreadableRel) as { status: string; reason: string | null };
    expect(row).toEqual({ status: 'ok', reason: null });
    expect(listUsableImages(db, ds.id).length).toBe(50 - 3);
  }, 120_000);
});

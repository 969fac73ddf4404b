/**
 * kill -9 of a sweep's process mid-sweep (issue 16): the sweep reads `interrupted`, its training process does
 * not outlive it, and `sweep resume` keeps the finished trials' runs (same ids, untouched), continues the run of
 * the trial that was training from its checkpoint (same id), runs the rest, and ends completed. Through the
 * real CLI, from the sources, on a real SQLite home.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
import { sampleSplits } from '../training/fixture';

const root = resolve(__dirname, '..', '..');

describe('kill -9 mid-sweep, then resume', () => {
  const t = tempDir('mixup-kill-sweep-');
  const home = join(t.dir, 'home');
  const config = join(t.dir, 'base.json');

  beforeAll(async () => {
    sampleSplits(join(t.dir, 'fm'), { train: 20, val: 8, test: 2 });
    writeFileSync(config, JSON.stringify({ seed: 2, epochs: 30, batchSize: 32, model: { arch: 'cnn-small', inputSize: [12, 12], channels: 1 }, mixup: { alpha: 0.2 } }));
    expect((await runCli(['index', join(t.dir, 'fm'), '--name', 'fm'], { home })).code).toBe(0);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('keeps finished trials and their run ids, and resumes the one that was training', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, 'sweep', 'fm', '--config', config, '--param', 'mixup.alpha=0,0.2,0.4'], {
      cwd: root,
      env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const db = new Database(join(home, 'mixup-studio.sqlite'), { readonly: true, fileMustExist: true, timeout: 5000 });
    // Killed once the first trial has finished and the second has trained a few epochs.
    const state = () => {
      try {
        const trials = db.prepare('SELECT idx, status, run_id FROM sweep_trials ORDER BY idx').all() as { idx: number; status: string; run_id: number | null }[];
        const second = trials[1]?.run_id ?? null;
        const epochs = second === null ? 0 : (db.prepare('SELECT count(*) FROM run_epochs WHERE run_id = ?').pluck().get(second) as number);
        return { trials, epochs };
      } catch {
        return { trials: [], epochs: 0 };
      }
    };
    let s = state();
    for (let i = 0; i < 6000 && !(s.trials[0]?.status === 'completed' && s.epochs >= 3); i++) {
      await new Promise((r) => setTimeout(r, 20));
      s = state();
    }
    child.kill('SIGKILL');
    await exited;
    expect(s.trials[0]?.status, 'the kill landed after the first trial').toBe('completed');
    const firstRun = s.trials[0].run_id!;
    const secondRun = s.trials[1].run_id!;
    const firstEpochs = db.prepare('SELECT count(*) FROM run_epochs WHERE run_id = ?').pluck().get(firstRun);
    db.close();

    const shown = await runCli(['sweep', 'show', '1', '--json'], { home });
    expect(shown.json().status).toBe('interrupted');
    expect(shown.json().trials[1].status).toBe('interrupted');
    // The trial's training process saw its host die and stopped (no orphan trains on).
    const runs = await runCli(['runs', 'list', '--json'], { home });
    expect(runs.json().find((r: any) => r.id === secondRun).status).not.toBe('running');

    const resumed = await runCli(['sweep', 'resume', '1', '--json'], { home, timeoutMs: 240_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const doc = resumed.json();
    expect(doc.status).toBe('completed');
    expect(doc.trials.map((x: any) => x.status)).toEqual(['completed', 'completed', 'completed']);
    expect(doc.trials[0].run.id).toBe(firstRun);
    expect(doc.trials[1].run.id).toBe(secondRun);
    expect(doc.trials[1].epochs).toBe(30);
    const check = new Database(join(home, 'mixup-studio.sqlite'), { readonly: true });
    expect(check.prepare('SELECT count(*) FROM run_epochs WHERE run_id = ?').pluck().get(firstRun)).toBe(firstEpochs);
    // Three trials, three runs: nothing was trained twice under a new id.
    expect(check.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(3);
    check.close();
  }, 360_000);
});

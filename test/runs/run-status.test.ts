/**
 * Liveness, claims and reads of runs (issue 11 items 5, 6, 9 and 10), below the CLI: the run lock against
 * real processes (a live holder, one killed -9, one killed but left a zombie), the atomic claim, statuses
 * derived on a read-only database, and a checkpoint written to a full device.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../src-main/config/run-config';
import { openDatabase } from '../../src-main/db/connection';
import { datasetFingerprint, listClasses } from '../../src-main/datasets/repository';
import { acquireFileLock, probeFileLock } from '../../src-main/core/file-lock';
import { runLockPath } from '../../src-main/training/run-lock';
import { createRun, getRun, listRuns, setRunPaths } from '../../src-main/training/runs-repository';
import { claimRunExclusive, runFolders, trainRun } from '../../src-main/training/train-run';
import { tempDir, tempServices } from '../helpers/temp';
import { baseConfig, call, sampleSplits } from '../training/fixture';

const root = resolve(__dirname, '..', '..');
const services = tempServices();
const data = tempDir('mixup-run-status-data-');
const children: ChildProcess[] = [];

beforeAll(async () => {
  sampleSplits(data.dir, { train: 4, val: 1, test: 0 });
  await call(services, 'datasets:index', { root: data.dir, name: 'fm' });
}, 60_000);
afterAll(() => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  services.cleanup();
  data.cleanup();
});

/** A new run row of the indexed dataset, as `train` makes it (its folders set). */
function newRun(epochs = 1): number {
  const db = services.db;
  const classes = listClasses(db, 1).map((c) => c.name);
  const config = resolveRunConfig({ ...baseConfig, epochs, batchSize: 16 }, 'test config');
  const fingerprint = datasetFingerprint(db, 1);
  const resolved = { ...config, model: { ...config.model, inputSize: [12, 12], channels: 1 }, policy: { pairs: [] }, dataset: { id: 1, name: 'fm', fingerprint } };
  const id = createRun(db, { datasetId: 1, datasetName: 'fm', config: resolved, epochsPlanned: epochs, classes, datasetFingerprint: fingerprint });
  const f = runFolders(services, id);
  setRunPaths(db, id, f.checkpointDir, f.modelDir);
  return id;
}

/** The stored row, not the derived status. */
const stored = (id: number) =>
  services.db.prepare(`SELECT status, pid, error, heartbeat_at AS heartbeatAt FROM runs WHERE id = ?`).get(id) as {
    status: string;
    pid: number | null;
    error: string | null;
    heartbeatAt: string | null;
  };

/**
 * Starts a process holding `file`'s run lock; `zombie` runs it under a shell that execs `sleep`, which never
 * reaps: once killed, the holder stays a zombie that still answers kill(pid, 0). Resolves with the holder's pid.
 */
async function holder(file: string, zombie: boolean): Promise<number> {
  const node = `'${process.execPath}' --expose-gc --import tsx '${join(root, 'test', 'runs', 'lock-holder.ts')}' '${file}'`;
  const script = zombie ? `${node} & echo pid $!; exec sleep 60` : `echo pid $$; exec ${node}`;
  const child = spawn('sh', ['-c', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  for (let i = 0; i < 600 && !/held/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  expect(out).toMatch(/held/);
  return Number(/pid (\d+)/.exec(out)![1]);
}

const answersKill0 = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/**
 * Polls `fn` until it returns `want` (at most 2 s). A killed process's leader turns zombie while its other
 * threads may still be exiting for a few milliseconds; its files (and so its locks) go with the last of them.
 */
async function soon<T>(fn: () => T, want: T): Promise<T> {
  let v = fn();
  for (let i = 0; i < 100 && v !== want; i++) {
    await new Promise((r) => setTimeout(r, 20));
    v = fn();
  }
  return v;
}
function probeState(pid: number): 'alive' | 'zombie' | 'gone' {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return 'gone';
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z' ? 'zombie' : 'alive';
}

describe('the run lock', () => {
  it('is seen held while its holder lives, cannot be taken twice, and is free the moment the holder is killed -9', async () => {
    const file = join(services.paths.runs, 'lock-test', 'run.lock');
    const pid = await holder(file, false);
    expect(probeFileLock(file)).toBe('held');
    expect(acquireFileLock(file)).toBeNull();
    process.kill(pid, 'SIGKILL');
    expect(await soon(() => probeFileLock(file), 'free')).toBe('free');
    const mine = acquireFileLock(file);
    expect(mine).not.toBeNull();
    // No SQLite journal beside it: the holder never writes.
    expect(readdirSync(join(services.paths.runs, 'lock-test'))).toEqual(['run.lock']);
    mine!.release();
    expect(existsSync(file)).toBe(false);
    expect(probeFileLock(file)).toBe('absent');
  }, 30_000);

  it('is not let go by a second acquire in the holding process (closing any descriptor drops POSIX locks)', async () => {
    const file = join(services.paths.runs, 'lock-twice', 'run.lock');
    const mine = acquireFileLock(file);
    expect(mine).not.toBeNull();
    expect(acquireFileLock(file)).toBeNull();
    expect(probeFileLock(file)).toBe('held');
    // Another process must still find it held.
    const other = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'runs', 'lock-probe.ts'), file], { cwd: root, encoding: 'utf8' });
    expect(other.stdout).toBe('held');
    mine!.release();
    expect(probeFileLock(file)).toBe('absent');
    const again = acquireFileLock(file);
    expect(again).not.toBeNull();
    again!.release();
  }, 30_000);

  it('shows a run whose killed worker is a zombie (it still answers kill(pid, 0)) as interrupted, not running', async () => {
    const id = newRun();
    const pid = await holder(runLockPath(services.paths.runs, id), true);
    services.db.prepare(`UPDATE runs SET status = 'running', pid = ? WHERE id = ?`).run(pid, id);
    expect(getRun(services.db, id).status).toBe('running');
    process.kill(pid, 'SIGKILL');
    expect(await soon(() => probeState(pid), 'zombie')).toBe('zombie');
    expect(await soon(() => getRun(services.db, id).status, 'interrupted')).toBe('interrupted');
    // Still a zombie, still answering kill(pid, 0): the check the status used to rest on.
    expect(probeState(pid)).toBe('zombie');
    expect(answersKill0(pid)).toBe(true);
    expect(listRuns(services.db).find((r) => r.id === id)!.status).toBe('interrupted');
  }, 30_000);
});

describe('claiming a run', () => {
  it('refuses a second claim while the holder lives, naming its pid, and leaves the holder\'s row exactly as it was', async () => {
    const id = newRun();
    const pid = await holder(runLockPath(services.paths.runs, id), false);
    services.db.prepare(`UPDATE runs SET status = 'running', pid = ? WHERE id = ?`).run(pid, id);
    const before = stored(id);
    await expect(claimRunExclusive(services, id)).rejects.toMatchObject({ kind: 'conflict', message: `run ${id} is already running (pid ${pid})` });
    await expect(call(services, 'runs:train', { resume: id, backend: 'wasm' })).rejects.toThrow(`run ${id} is already running (pid ${pid})`);
    expect(stored(id)).toEqual(before);
    process.kill(pid, 'SIGKILL');
    await soon(() => probeFileLock(runLockPath(services.paths.runs, id)), 'free');
    // Dead holder: the claim goes through, and a completed run cannot be claimed again.
    const lock = await claimRunExclusive(services, id);
    expect(stored(id)).toMatchObject({ status: 'running', pid: process.pid });
    lock.release();
    services.db.prepare(`UPDATE runs SET status = 'completed', pid = NULL WHERE id = ?`).run(id);
    await expect(claimRunExclusive(services, id)).rejects.toThrow(/already completed/);
    expect(probeFileLock(runLockPath(services.paths.runs, id))).toBe('absent');
  }, 30_000);
});

describe('reading runs', () => {
  it('lists and shows a run whose process died as interrupted on a read-only database, writing nothing', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    const legacy = newRun(); // no lock file: the pid rule
    services.db.prepare(`UPDATE runs SET status = 'running', pid = ? WHERE id = ?`).run(deadPid, legacy);
    const locked = newRun(); // a killed worker's lock left behind, unlocked
    mkdirSync(join(services.paths.runs, String(locked)), { recursive: true });
    writeFileSync(runLockPath(services.paths.runs, locked), ''); // as a killed holder leaves it: there, unlocked
    services.db.prepare(`UPDATE runs SET status = 'running', pid = ? WHERE id = ?`).run(deadPid, locked);
    const ro = openDatabase(services.paths.db, { readonly: true });
    try {
      expect(listRuns(ro).filter((r) => r.id === legacy || r.id === locked).map((r) => r.status)).toEqual(['interrupted', 'interrupted']);
      expect(getRun(ro, legacy).status).toBe('interrupted');
      expect(getRun(ro, legacy).pid).toBeNull();
    } finally {
      ro.close();
    }
    expect(stored(legacy).status).toBe('running');
    // A cancel writes anyway: it stores what the read showed.
    await expect(call(services, 'runs:cancel', { run: legacy })).rejects.toThrow(/is not running \(status interrupted\)/);
    expect(stored(legacy)).toMatchObject({ status: 'interrupted', pid: null });
  }, 30_000);
});

describe('a checkpoint on a full device', () => {
  it('fails the run with ENOSPC naming the checkpoint folder, and leaves no temp file', async () => {
    const id = newRun(2);
    const { checkpointDir } = runFolders(services, id);
    // A killed writer's temp file from before: the claim clears it.
    mkdirSync(checkpointDir, { recursive: true });
    const stale = join(checkpointDir, 'checkpoint.bin.4242.tmp');
    symlinkSync('/dev/null', stale);
    // The real thing: the checkpoint's temp file is /dev/full, where every write fails with ENOSPC.
    const tmp = join(checkpointDir, `checkpoint.bin.${process.pid}.tmp`);
    let planted = false;
    const run = trainRun(
      services,
      { runId: id, backend: 'wasm', threads: 1, resume: false },
      {
        emit: (topic, d: any) => {
          if (topic === 'train.progress' && d.phase === 'train' && !planted) {
            planted = true;
            expect(existsSync(stale)).toBe(false);
            symlinkSync('/dev/full', tmp);
          }
        },
        cancelled: () => false,
      },
    );
    await expect(run).rejects.toMatchObject({ kind: 'io' });
    await expect(run).rejects.toThrow(`no space left on the device holding ${checkpointDir} (ENOSPC)`);
    expect(planted).toBe(true);
    const row = getRun(services.db, id);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/ENOSPC/);
    expect(row.error).toContain(checkpointDir);
    expect(readdirSync(checkpointDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(lstatSync('/dev/full').isCharacterDevice()).toBe(true);
  }, 60_000);
});

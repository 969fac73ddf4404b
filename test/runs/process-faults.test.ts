/**
 * One run through real `train` processes and the faults a user's machine deals them (issue 11 items 5, 6, 9;
 * issue 18 item 4): kill -9 of the whole process group, SIGTERM to the CLI, kill -9 of the CLI alone, and two
 * `--resume` of the same run started together. Every CLI runs in its own process group (as from a shell), so a
 * test can kill the group, and afterAll kills whatever group is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
import { sampleSubset } from '../training/fixture';

const root = resolve(__dirname, '..', '..');
const t = tempDir('mixup-run-faults-');
const home = join(t.dir, 'home');
const cfgFile = join(t.dir, 'run.json');
const EPOCHS = 16;
const groups: ChildProcess[] = [];

interface Cli {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `mixup-studio ARGS` from the sources in a new process group. */
function start(args: string[]): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, ...args], {
    cwd: root,
    env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  groups.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, stderr: () => stderr, exited };
}

/** The run's row and how many epochs it has recorded, read without writing. */
function row(id: number): { status: string; pid: number | null; error: string | null; epochs: number } {
  const db = new Database(join(home, 'mixup-studio.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare(`SELECT status, pid, error FROM runs WHERE id = ?`).get(id) as { status: string; pid: number | null; error: string | null };
    const n = (db.prepare(`SELECT count(*) AS n FROM run_epochs WHERE run_id = ?`).get(id) as { n: number }).n;
    return { ...r, epochs: n };
  } finally {
    db.close();
  }
}

/** A process that has exited (gone, or a zombie nobody reaped) is dead. */
function dead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until run 1 is claimed by a new worker (not `cli` itself, not the earlier `notPid`) that has recorded
 * more than `after` epochs; returns the worker's pid.
 */
async function trainingPast(after: number, cli: Cli, notPid: number | null = null): Promise<number> {
  const r = await until(`run 1 to train past ${after} epochs (stderr: ${cli.stderr()})`, () => {
    const x = existsSync(join(home, 'mixup-studio.sqlite')) ? row(1) : undefined;
    return x && x.status === 'running' && x.epochs > after && x.pid !== null && x.pid !== cli.child.pid && x.pid !== notPid ? x : undefined;
  }, 60_000);
  return r.pid!;
}

const listed = async () => (await runCli(['--json', 'runs', 'list'], { home })).json()[0].status;
const shown = async () => (await runCli(['--json', 'runs', 'show', '1'], { home })).json().status;

beforeAll(async () => {
  sampleSubset(join(t.dir, 'fm'), 12);
  writeFileSync(
    cfgFile,
    JSON.stringify({ seed: 3, epochs: EPOCHS, batchSize: 16, model: { arch: 'cnn-small', inputSize: [12, 12], channels: 1 }, mixup: { alpha: 0.2 } }),
  );
  const r = await runCli(['--json', 'index', join(t.dir, 'fm'), '--name', 'fm'], { home });
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(() => {
  for (const g of groups) {
    try {
      process.kill(-g.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  t.cleanup();
});

describe('training processes under kill -9, SIGTERM and a concurrent resume', () => {
  it('shows a run whose process group was killed -9 as interrupted at once, in runs show and runs list', async () => {
    const cli = start(['--json', 'train', 'fm', '--config', cfgFile, '--backend', 'wasm']);
    const worker = await trainingPast(0, cli);
    process.kill(-cli.child.pid!, 'SIGKILL');
    await cli.exited;
    await until('the worker to die', () => dead(worker), 10_000);
    // No waiting for a reaper: the worker may stay a zombie for seconds; its lock goes with its last thread
    // (a few milliseconds after its leader turns zombie, longer on a loaded machine: hence one retry window).
    const deadline = Date.now() + 3000;
    let status = await shown();
    while (status === 'running' && Date.now() < deadline) status = await shown();
    expect(status).not.toBe('running');
    expect(await listed()).toBe('interrupted');
    // A killed checkpoint writer's temp file, as a kill between write and rename leaves it.
    writeFileSync(join(home, 'runs', '1', 'checkpoint', 'checkpoint.bin.999999.tmp'), 'partial');
  }, 60_000);

  it('accepts `train --resume` right after the kill; SIGTERM to it cancels the run within seconds: its worker is gone, the run cancelled', async () => {
    const before = row(1);
    const cli = start(['--json', 'train', '--resume', '1', '--backend', 'wasm']);
    const worker = await trainingPast(before.epochs, cli, before.pid);
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code, cli.stderr()).toBe(130);
    await until('the worker to exit', () => dead(worker), 10_000);
    expect(row(1).status).toBe('cancelled');
  }, 60_000);

  it('a worker whose CLI was killed -9 alone stops itself within seconds and leaves the run resumable', async () => {
    const before = row(1);
    const cli = start(['--json', 'train', '--resume', '1', '--backend', 'wasm']);
    const worker = await trainingPast(before.epochs, cli, before.pid);
    cli.child.kill('SIGKILL');
    await cli.exited;
    await until('the orphaned worker to exit', () => dead(worker), 15_000);
    expect(['cancelled', 'interrupted']).toContain(await shown());
  }, 60_000);

  it('accepts exactly one of two `--resume` started together; the loser exits non-zero naming the winner and leaves its row alone', async () => {
    const a = start(['--json', 'train', '--resume', '1', '--backend', 'wasm']);
    const b = start(['--json', 'train', '--resume', '1', '--backend', 'wasm']);
    // The row as it stands when the first of the two ends (normally the refused one, while the other trains).
    const first = await Promise.race([a.exited.then(() => row(1)), b.exited.then(() => row(1))]);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.code, eb.code].sort(), `${a.stderr()}\n---\n${b.stderr()}`).toEqual([0, 1]);
    const loser = ea.code === 0 ? b : a;
    const m = /run 1 is already running \(pid (\d+)\)/.exec(loser.stderr());
    expect(m, loser.stderr()).not.toBeNull();
    if (first.status === 'running') {
      expect(first.pid).toBe(Number(m![1]));
      expect(first.error).toBeNull();
    }
    const end = row(1);
    expect(end).toMatchObject({ status: 'completed', error: null, pid: null, epochs: EPOCHS });
    // The stale temp file of the killed writer went at the resume, and no lock is left once the run ended.
    expect(readdirSync(join(home, 'runs', '1', 'checkpoint')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(home, 'runs', '1', 'run.lock'))).toBe(false);
  }, 90_000);
});

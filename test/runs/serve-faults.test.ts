/**
 * A training started through `serve` dies with it (issue 18 item 4, serve side): SIGTERM to serve cancels it,
 * and a serve killed -9 leaves a worker that notices its IPC channel closed and stops itself. Serve runs in its
 * own process group; afterAll kills whatever group is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
import { sampleSubset } from '../training/fixture';

const root = resolve(__dirname, '..', '..');
const t = tempDir('mixup-serve-faults-');
const home = join(t.dir, 'home');
const config = { seed: 3, epochs: 30, batchSize: 16, model: { arch: 'cnn-small', inputSize: [12, 12], channels: 1 }, mixup: { alpha: 0.2 } };
const groups: ChildProcess[] = [];

/** Starts a serve process; resolves with its origin and token once it prints its address. */
async function serve(): Promise<{ child: ChildProcess; origin: string; token: string; exited: Promise<number | null> }> {
  // The real `mixup-studio serve` (from the sources; its page from `npm run build`): its own signal handling.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, '--json', 'serve', '--port', '0'], {
    cwd: root,
    env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  groups.push(child);
  child.stderr!.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const line = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) res(out.slice(0, out.indexOf('\n')));
    });
    child.on('exit', () => rej(new Error('serve exited before printing its address')));
  });
  const u = new URL((JSON.parse(line) as { url: string }).url);
  return { child, origin: u.origin, token: u.searchParams.get('token')!, exited };
}

function row(id: number): { status: string; pid: number | null; epochs: number } | undefined {
  const db = new Database(join(home, 'mixup-studio.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare(`SELECT status, pid FROM runs WHERE id = ?`).get(id) as { status: string; pid: number | null } | undefined;
    if (!r) return undefined;
    return { ...r, epochs: (db.prepare(`SELECT count(*) AS n FROM run_epochs WHERE run_id = ?`).get(id) as { n: number }).n };
  } finally {
    db.close();
  }
}

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

/** Starts run `id` through serve's HTTP API (the call resolves only when training ends: not awaited). */
async function trainThrough(s: { origin: string; token: string; child: ChildProcess }, id: number): Promise<number> {
  void fetch(`${s.origin}/api/call/runs:train`, {
    method: 'POST',
    headers: { 'x-mixup-token': s.token, 'content-type': 'application/json' },
    body: JSON.stringify({ dataset: 'fm', config, backend: 'wasm' }),
  }).catch(() => undefined);
  const r = await until(`run ${id} to train an epoch`, () => {
    const x = row(id);
    return x && x.status === 'running' && x.epochs > 0 && x.pid !== null && x.pid !== s.child.pid ? x : undefined;
  }, 60_000);
  return r.pid!;
}

beforeAll(async () => {
  sampleSubset(join(t.dir, 'fm'), 12);
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

describe('a training started through serve', () => {
  it('is cancelled when serve gets SIGTERM: its worker is gone within seconds and the run is recorded cancelled', async () => {
    const s = await serve();
    const worker = await trainThrough(s, 1);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await until('the worker to exit', () => dead(worker), 10_000);
    expect(row(1)!.status).toBe('cancelled');
  }, 60_000);

  it('stops by itself when serve is killed -9, leaving the run not running', async () => {
    const s = await serve();
    const worker = await trainThrough(s, 2);
    s.child.kill('SIGKILL');
    await s.exited;
    await until('the orphaned worker to exit', () => dead(worker), 15_000);
    const shown = (await runCli(['--json', 'runs', 'show', '2'], { home })).json();
    expect(['cancelled', 'interrupted']).toContain(shown.status);
  }, 60_000);
});

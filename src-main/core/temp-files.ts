/**
 * Temporary files the app writes beside their final name and renames into place (checkpoints, pixel caches,
 * thumbnails). Their names carry the writer's pid — `NAME.PID.tmp` or `NAME.PID.RANDOM.tmp` — so that the next
 * owner of a folder can tell a leftover of a killed process from a file another live process is still writing,
 * and remove only the former.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const TEMP_NAME = /\.(\d+)(?:\.[A-Za-z0-9]+)?\.tmp$/;

/** A temp name for `file` owned by this process; `unique` adds a random part for several writers per process. */
export function tempPathFor(file: string, unique = false): string {
  return `${file}.${process.pid}${unique ? `.${Math.random().toString(36).slice(2, 10)}` : ''}.tmp`;
}

/** The pid in a temp name made by tempPathFor, or undefined for any other name. */
export function tempOwner(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Whether `pid` is a running process. `kill(pid, 0)` alone answers yes for a zombie (dead, not yet reaped by a
 * parent that never waits), so on Linux the state in /proc is checked too.
 */
export function processRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Removes the temp files in `dir` (not below it) left by processes that are no longer running. Files of live
 * processes (this one included) stay. `pattern` picks the names (its first group: the writer's pid); by default
 * those of tempPathFor. Returns how many were removed; a missing folder removes none.
 */
export function sweepDeadTemps(dir: string, pattern: RegExp = TEMP_NAME): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = pattern.exec(name);
    const pid = m ? Number(m[1]) : undefined;
    if (pid === undefined || pid === process.pid || processRunning(pid)) continue;
    try {
      rmSync(join(dir, name), { force: true, recursive: true });
      removed += 1;
    } catch {
      /* another sweeper got there first, or it is not ours to remove: leave it */
    }
  }
  return removed;
}

/**
 * A file lock: proof that a process is alive (a training run's worker, a scan of a folder), which the
 * operating system withdraws the moment that process dies.
 *
 * Why not `kill(pid, 0)`: a killed process that nobody has reaped yet (a zombie; for ever under a PID 1 that
 * never reaps) still answers it, and a pid can be reused. A POSIX record lock (fcntl) is released by the kernel
 * when its holder exits, before it becomes a zombie, and is never inherited or reused. Node has no flock/fcntl,
 * but SQLite takes exactly such locks on its files, so the lock file is a (empty) SQLite database:
 *
 * - the holder opens it and keeps `BEGIN EXCLUSIVE` open for the run's life (journal in memory, so no
 *   `-journal` file appears beside it and nothing is ever written to the disk);
 * - anyone else probes it with a read-only connection and busy_timeout 0: SQLITE_BUSY means held (alive), a
 *   successful read means nobody holds it (the holder is dead), and a missing file means the run never took
 *   a lock (a run from an older version: callers fall back to pid + heartbeat).
 *
 * Two rules of POSIX record locks shape the code. They belong to the process, not the descriptor: closing *any*
 * descriptor of the file drops every lock this process holds on it, so once held, this process never opens the
 * file again (a second acquire in the same process is answered from `held` without touching the file). And
 * the connection must stay reachable: better-sqlite3 closes a garbage-collected connection, which would
 * let go of the lock while the holder lives on, so every held lock is kept in `held` until released.
 *
 * The file lives in the run's own folder (`RUNS/ID/run.lock`, beside `checkpoint/` and `model/`). Its holder
 * deletes it when the run ends (before letting go, so a reader never sees it free and present for a run that
 * ended cleanly); a killed holder leaves it behind, unlocked, which is exactly how its death is seen.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppError } from './errors';

export interface FileLock {
  readonly file: string;
  /** Deletes the lock file and lets go of the lock. Idempotent. */
  release(): void;
}

export type LockState = 'held' | 'free' | 'absent';

/** The locks this process holds, by absolute path: what keeps their connections alive and answers re-acquires. */
const held = new Map<string, Database.Database>();

/** How long an acquire waits out a reader's probe (which holds the file's shared lock for a moment). */
const ACQUIRE_BUSY_MS = 250;

const isBusy = (err: unknown) => typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('SQLITE_BUSY');

function inode(file: string): string | null {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Takes the lock, or returns null when a live process holds it. Throws AppError 'io' when the file cannot be
 * made (a read-only or full disk), naming it as `what` ('run lock', 'index lock').
 */
export function acquireFileLock(file: string, what = 'lock'): FileLock | null {
  const key = resolve(file);
  if (held.has(key)) return null;
  // A holder deletes the file before letting go; whoever had it open by then locked a file nobody can see.
  // Seeing the same inode at the path before opening and after locking rules that out (a few tries).
  for (let attempt = 0; attempt < 5; attempt++) {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(file), { recursive: true });
      closeSync(openSync(file, 'a'));
      const before = inode(file);
      db = new Database(file, { fileMustExist: true });
      db.pragma(`busy_timeout = ${ACQUIRE_BUSY_MS}`);
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      if (before === null || inode(file) !== before) {
        db.close();
        continue;
      }
    } catch (err) {
      db?.close();
      if (isBusy(err)) return null;
      throw new AppError('io', `cannot take the ${what} ${file}: ${(err as Error).message}`);
    }
    const conn = db;
    held.set(key, conn);
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          /* already gone: nothing to clean */
        }
        held.delete(key);
        conn.close();
      },
    };
  }
  throw new AppError('io', `cannot take the ${what} ${file}: it keeps being replaced`);
}

/** Whether a live process holds the lock at `file` (never writes, never takes the lock for more than a read). */
export function probeFileLock(file: string): LockState {
  if (held.has(resolve(file))) return 'held';
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return 'absent';
  }
  try {
    db.pragma('busy_timeout = 0');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return 'free';
  } catch (err) {
    // Anything but BUSY (a file that is not ours, unreadable): no proof either way.
    return isBusy(err) ? 'held' : 'absent';
  } finally {
    db.close();
  }
}

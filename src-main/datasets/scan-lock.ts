/**
 * One scan of a dataset folder at a time. Two `index` runs of one folder would both insert the same new
 * classes and files, and the loser would die midway with `UNIQUE constraint failed`. Instead the second is
 * refused at once, naming the process that holds the folder, before it writes anything.
 *
 * The lock is the same kind as a training run's (../core/file-lock.ts): a POSIX record lock that SQLite
 * takes on a small lock file and the kernel drops the moment the holder dies, so a killed scan never blocks
 * the next one. The file is `HOME/locks/index-<hash of the folder>.lock`, keyed by the dataset's folder (every
 * way of naming one dataset resolves to it); `<lock>.pid` beside it says who holds it, for the message.
 * Refusing (rather than waiting) keeps `index` predictable from scripts: the message says what to do.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError } from '../core/errors';
import type { Db } from '../db/connection';
import { acquireFileLock } from '../core/file-lock';

export interface ScanLock {
  release(): void;
}

const NO_LOCK: ScanLock = { release() {} };

/** The lock file of scans of `root` for the database `db` (in its home). */
export function scanLockPath(db: Db, root: string): string {
  const key = createHash('sha1').update(root).digest('hex').slice(0, 20);
  return join(dirname(db.name), 'locks', `index-${key}.lock`);
}

/**
 * Takes the folder's scan lock or throws AppError 'conflict' naming the holder. An in-memory database (tests)
 * has no home to lock in: nothing is locked.
 */
export function acquireScanLock(db: Db, root: string, datasetName: string): ScanLock {
  if (db.memory) return NO_LOCK;
  const file = scanLockPath(db, root);
  const pidFile = `${file}.pid`;
  let lock;
  try {
    lock = acquireFileLock(file, 'index lock');
  } catch (err) {
    throw new AppError('io', `cannot index ${root}: ${(err as Error).message}`);
  }
  if (!lock) {
    let holder = 'unknown';
    try {
      const text = readFileSync(pidFile, 'latin1').trim();
      if (/^\d{1,10}$/.test(text)) holder = text;
    } catch {
      /* the holder has not written it yet */
    }
    throw new AppError(
      'conflict',
      `dataset '${datasetName}': its folder ${root} is being indexed by another process (pid ${holder}); try again when it finishes`,
    );
  }
  try {
    writeFileSync(pidFile, String(process.pid));
  } catch {
    /* only the message of a loser needs it */
  }
  const held = lock;
  return {
    release() {
      rmSync(pidFile, { force: true });
      held.release();
    },
  };
}

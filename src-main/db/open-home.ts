/**
 * Opening a home: its folders, its database (checked, migrated), and the daily backup. Every process opens
 * its home here once (the app, serve and each CLI command through their runtime; a training worker).
 */
import { mkdirSync } from 'node:fs';
import { AppError } from '../core/errors';
import { homePaths, type Services } from '../core/services';
import { DAILY_INTERVAL_MS, dailyBackup, dailyBackupDueAt } from './backup';
import { corruptError, forgetPassedCheck, isDatabaseDamage, quickCheck } from './check';
import { openCheckedDatabase, type Db } from './connection';
import { isSqliteCorruption, isSqliteFull } from './errors';

/**
 * Opens the home. A damaged database does not stop the opening (so `db check` can run and the app can say
 * what is wrong): it is recorded as `damage`, and `db` throws it. Other failures (a newer schema, an
 * unreadable folder) throw here, as before.
 */
export function openServices(opts: { home: string }): Services {
  const paths = homePaths(opts.home);
  try {
    for (const dir of [paths.home, paths.thumbs, paths.runs, paths.cache]) mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new AppError('input', `cannot create home folder ${paths.home}: it (or a folder above it) is a file, not a folder; give --home a folder`);
    }
    throw new AppError('io', `cannot create home folder ${paths.home}: ${(err as Error).message}`);
  }
  let db: Db | undefined;
  let damage: AppError | undefined;
  let checked = false;
  // A new home has nothing worth a copy yet: its first daily backup is a day away.
  let backupDueAt = Date.now() + DAILY_INTERVAL_MS;
  try {
    const opened = openCheckedDatabase(paths.db);
    db = opened.db;
    checked = opened.checked;
    if (!opened.created) backupDueAt = dailyBackupDueAt(paths.db);
  } catch (err) {
    if (!(err instanceof AppError) || err.kind !== 'corrupt') throw err;
    damage = err;
  }
  let closed = false;
  let pending: Promise<void> | undefined;

  const markDamaged = (detail: string | AppError): AppError => {
    if (!damage) {
      // A 'corrupt' error from another process of this home (the training worker) already names the file.
      damage = detail instanceof AppError ? detail : corruptError(paths.db, detail);
      // A large file skips its open check for a day after one passed; damage met since means check again.
      forgetPassedCheck(paths.db);
    }
    return damage;
  };

  const backUp = async (): Promise<void> => {
    const open = db!;
    if (!checked) {
      const problems = quickCheck(open);
      if (problems.length > 0) throw markDamaged(`SQLite's quick check: ${problems[0]}`);
      checked = true;
    }
    try {
      await dailyBackup(open, paths.db);
      backupDueAt = Date.now() + DAILY_INTERVAL_MS;
      // The next day's backup checks again first: a check passes for one backup only.
      checked = false;
    } catch (err) {
      if (isSqliteCorruption(err)) throw markDamaged((err as Error).message);
      // A failed backup (disk full, a read-only folder) must not fail the user's work: say so, retry in an hour.
      backupDueAt = Date.now() + 60 * 60 * 1000;
      if (!closed) process.stderr.write(`mixup-studio: the daily backup of ${paths.db} failed: ${(err as Error).message}\n`);
    }
  };

  return {
    home: paths.home,
    get db(): Db {
      if (damage) throw damage;
      return db!;
    },
    paths,
    get damage() {
      return damage;
    },
    classify(err) {
      // The training worker's damage arrives as its envelope, rebuilt: it names this home's database.
      if (isDatabaseDamage(err, paths.db)) return markDamaged(err as AppError);
      if (err instanceof AppError) return err;
      if (isSqliteCorruption(err)) return markDamaged((err as Error).message);
      if (isSqliteFull(err)) {
        return new AppError('io', `the disk holding the database ${paths.db} is full (${(err as { code: string }).code}): free some space, then try again`);
      }
      return err;
    },
    maintain() {
      if (damage || closed || Date.now() < backupDueAt) return Promise.resolve();
      pending ??= backUp().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    close() {
      if (closed) return;
      closed = true;
      db?.close();
    },
  };
}

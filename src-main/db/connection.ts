import Database from 'better-sqlite3';
import { constants, copyFileSync, existsSync, linkSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AppError, toErrorEnvelope } from '../core/errors';
import { sweepDeadTemps } from '../core/temp-files';
import { backupBeforeMigration, sweepBackupTemps } from './backup';
import { checkDue, corruptError, headerProblem, notePassedCheck, quickCheck, ALWAYS_CHECK_BYTES } from './check';
import { isSqliteCorruption } from './errors';
import { currentVersion, migrate } from './migrate';
import { migrations } from './migrations';

export type Db = Database.Database;

export interface OpenedDatabase {
  db: Db;
  /** This open created the file (a new home): nothing to check or back up yet. */
  created: boolean;
  /** `quick_check` ran and passed during this open. */
  checked: boolean;
}

/** Opens (creating if needed) the home's SQLite file: WAL, foreign keys on, migrated to the newest schema. */
export function openDatabase(file: string, opts: { readonly?: boolean } = {}): Db {
  return openCheckedDatabase(file, opts).db;
}

/**
 * `openDatabase`, saying what the open did. A file that exists but is not a database (0 bytes, foreign
 * bytes) or fails its quick check is refused with the 'corrupt' error, and left exactly as it was: it is never
 * taken for a new database. A missing file is created (atomically: no other process sees it half-made).
 * Before migrating an existing database, it is checked and backed up.
 */
export function openCheckedDatabase(file: string, opts: { readonly?: boolean } = {}): OpenedDatabase {
  const readonly = opts.readonly ?? false;
  let created = false;
  if (!readonly) {
    sweepDeadTemps(dirname(file), newFileTemp(file));
    sweepBackupTemps(file);
  }
  if (existsSync(file)) {
    let problem: string | undefined;
    try {
      problem = headerProblem(file);
    } catch (err) {
      throw openError(file, err); // unreadable, a folder: an 'io' error naming the file
    }
    if (problem) throw corruptError(file, problem);
  } else if (!readonly) {
    created = createDatabase(file);
  }
  // Checked before anything is set (switching a restored rollback-journal file to WAL writes its header), on
  // a read-only connection of its own: a read-write one that closed over a damaged file would checkpoint its
  // WAL into it first. Only a large file needs the note; a small one is checked at every open anyway.
  let checked = !created && checkDue(file);
  if (checked) {
    checkReadOnly(file);
    if (!readonly && fileBytes(file) > ALWAYS_CHECK_BYTES) notePassedCheck(file);
  }
  let db: Db;
  try {
    db = new Database(file, { readonly, fileMustExist: true });
  } catch (err) {
    throw openError(file, err);
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (!readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    if (!readonly) {
      const from = currentVersion(db);
      if (from > 0 && from < migrations.length) {
        if (!checked) {
          checkReadOnly(file);
          checked = true;
        }
        backupBeforeMigration(db, file, from);
      }
      migrate(db, migrations, file);
    }
    return { db, created, checked };
  } catch (err) {
    db.close();
    throw openError(file, err, 'setup');
  }
}

/** `quick_check` on a read-only connection that is closed again; throws the 'corrupt' error naming the file. */
function checkReadOnly(file: string): void {
  let ro: Db;
  try {
    ro = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw openError(file, err);
  }
  try {
    ro.pragma('busy_timeout = 5000');
    const problems = quickCheck(ro);
    if (problems.length > 0) throw corruptError(file, `SQLite's quick check: ${problems[0]}`);
  } catch (err) {
    throw openError(file, err, 'setup');
  } finally {
    ro.close();
  }
}

/** An error of opening (`open`: the file could not be opened) or of the set-up after it, naming the file. */
function openError(file: string, err: unknown, phase: 'open' | 'setup' = 'open'): AppError {
  if (err instanceof AppError) return err;
  if (isSqliteCorruption(err)) return corruptError(file, (err as Error).message);
  const env = toErrorEnvelope(err);
  if (phase === 'setup') return new AppError(env.kind, `database ${file}: ${env.message}`);
  return new AppError(env.kind === 'internal' ? 'io' : env.kind, `cannot open database ${file}: ${env.message}`);
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The temporary name a new database is built under (the pid lets a later open sweep a killed one's). */
function newFileTemp(file: string): RegExp {
  const base = basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${base}\\.new-(\\d+)\\.tmp(?:-wal|-shm|-journal)?$`);
}

/**
 * Builds a new, migrated database under a temporary name and links it into place only when complete, so a
 * 0-byte or half-made file is never seen at `file` (which is why such a file can be refused as damage).
 * Returns false when another process created it first (its file is kept).
 */
function createDatabase(file: string): boolean {
  const temp = `${file}.new-${process.pid}.tmp`;
  const clean = () => {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
  };
  clean();
  try {
    const fresh = new Database(temp);
    try {
      fresh.pragma('journal_mode = WAL');
      migrate(fresh, migrations, file);
    } finally {
      fresh.close();
    }
    try {
      linkSync(temp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      // A file system without hard links: an exclusive copy still never replaces another's file.
      try {
        copyFileSync(temp, file, constants.COPYFILE_EXCL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    }
    return true;
  } catch (err) {
    throw openError(file, err);
  } finally {
    clean();
  }
}

/** Runs `fn` over `items` in transactions of `batchSize` rows: fast bulk writes that stay consistent. */
export function inBatches<T>(db: Db, items: readonly T[], batchSize: number, fn: (item: T) => void): void {
  const run = db.transaction((chunk: readonly T[]) => {
    for (const item of chunk) fn(item);
  });
  for (let i = 0; i < items.length; i += batchSize) run(items.slice(i, i + batchSize));
}

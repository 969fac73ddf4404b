/**
 * Is the home's database whole? SQLite only notices a damaged page when it reads that page, so a file with
 * garbage in it can be used (and written) for a long time. These checks find the damage first:
 *
 * - the header, before SQLite ever opens the file (a 0-byte or foreign file would otherwise be taken as a new,
 *   empty database and written over);
 * - `PRAGMA quick_check` at open, for every file up to 64 MiB (a home of some 150,000 images: ≈2–3 ms per MiB
 *   measured here, so at most ≈200 ms), and for a larger one when no check has passed within a day or since
 *   damage was last met (meeting damage forgets the last pass);
 * - `PRAGMA integrity_check` + `foreign_key_check`, in full, for `db check`.
 *
 * Every damage found (here, or SQLITE_CORRUPT met by any operation) becomes one error: `corruptError`.
 */
import Database from 'better-sqlite3';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { AppError } from '../core/errors';
import { newestBackup, restoreSteps, type BackupInfo } from './backup';
import { isSqliteCorruption } from './errors';
import { describeKind } from '../core/user-files';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Up to this size (database + WAL) the open always runs `quick_check`: measured here at ≈15 ms for 4 MiB
 * (10,000 images), 55 ms for 7.8 MB (20,000), 76–144 ms for 46 MB, in a fresh process.
 */
export const ALWAYS_CHECK_BYTES = 64 * 1024 * 1024;
/** Above it, the open runs it when it has not passed for this long (≈350–430 ms at 233 MB: once a day). */
export const CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** The one error for a damaged database: the file, what was found, `db check`, and the newest backup. */
export function corruptError(file: string, detail: string): AppError {
  const backup = newestBackup(file);
  const way = backup
    ? `the newest backup is ${backup.path} (taken ${backup.takenAt})`
    : 'no backup of it is kept yet';
  return new AppError(
    'corrupt',
    `database ${file} is damaged (${detail}). MixUp Studio stops using it; run \`mixup-studio db check\` for the details and the way back: ${way}.`,
    { database: file },
  );
}

/** Whether `err` is corruptError's for the database `file` (also when rebuilt from another process's envelope). */
export function isDatabaseDamage(err: unknown, file: string): boolean {
  return err instanceof AppError && err.kind === 'corrupt' && (err.details as { database?: unknown } | undefined)?.database === file;
}

/**
 * Why an existing file cannot be the home's database, from its first 16 bytes, or undefined when it can.
 * Never quotes the bytes: the file may be anything.
 */
export function headerProblem(file: string): string | undefined {
  const st = statSync(file);
  if (!st.isFile()) return `it is ${describeKind(st)}, not a regular file`;
  const size = st.size;
  if (size === 0) return 'the file is empty (0 bytes)';
  const head = Buffer.alloc(HEADER.length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(HEADER)) return `the file is not a database: ${size} bytes without the "SQLite format 3" header`;
  return undefined;
}

/** `PRAGMA quick_check`: the b-tree structure of every page, without the index-content cross-check. */
export function quickCheck(db: Database.Database): string[] {
  return pragmaProblems(db, 'quick_check(20)');
}

function pragmaProblems(db: Database.Database, pragma: string): string[] {
  try {
    const rows = db.pragma(pragma) as Record<string, string>[];
    const lines = rows.map((r) => String(Object.values(r)[0]));
    return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
  } catch (err) {
    // A page so damaged that the check itself stops (SQLITE_CORRUPT / SQLITE_NOTADB).
    if (isSqliteCorruption(err)) return [(err as Error).message];
    throw err;
  }
}

/** When the last check that passed ran, from the small file beside the database (0 when never). */
function stampFile(file: string): string {
  return `${file}.checked`;
}

export function lastPassedCheck(file: string): number {
  try {
    const t = Date.parse(readFileSync(stampFile(file), 'utf8').trim());
    return Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

export function notePassedCheck(file: string, at = new Date()): void {
  try {
    writeFileSync(stampFile(file), `${at.toISOString()}\n`);
  } catch {
    // A read-only home: the check simply runs again next time.
  }
}

/** Forgets the last passed check, so that the next open checks again whatever the size (damage was met). */
export function forgetPassedCheck(file: string): void {
  try {
    rmSync(stampFile(file), { force: true });
  } catch {
    /* a read-only home: nothing was noted there either */
  }
}

/** Whether the open should run `quick_check` now: the file is small, or no check passed within the interval. */
export function checkDue(file: string, now = Date.now()): boolean {
  let bytes = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      bytes += statSync(f).size;
    } catch {
      /* no WAL */
    }
  }
  return bytes <= ALWAYS_CHECK_BYTES || now - lastPassedCheck(file) >= CHECK_INTERVAL_MS;
}

export interface DbCheckReport {
  file: string;
  ok: boolean;
  /** SQLite's own lines (the first 20), or why the file is not a database; never the file's bytes. */
  problems: string[];
  newestBackup: { path: string; takenAt: string } | null;
  /** How to put the newest backup back. */
  restore: string;
}

const MAX_PROBLEMS = 20;

/**
 * The full check of `db check`: header, `integrity_check` and `foreign_key_check`, on a connection of its own
 * that neither migrates nor writes (read-only: not even a WAL checkpoint into the damaged file), so it runs
 * over a database every other operation refuses.
 */
export function checkDatabaseFile(file: string): DbCheckReport {
  const problems: string[] = [];
  let header: string | undefined;
  try {
    header = headerProblem(file);
  } catch (err) {
    header = `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (header) problems.push(header);
  else {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      problems.push(...pragmaProblems(db, `integrity_check(${MAX_PROBLEMS})`));
      if (problems.length === 0) {
        const fks = db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[];
        for (const fk of fks) problems.push(`row ${fk.rowid ?? '?'} of ${fk.table} refers to a missing row of ${fk.parent}`);
      }
    } catch (err) {
      if (!isSqliteCorruption(err)) throw err;
      problems.push((err as Error).message);
    } finally {
      db?.close();
    }
  }
  const ok = problems.length === 0;
  if (ok) notePassedCheck(file);
  const backup: BackupInfo | undefined = newestBackup(file);
  return {
    file,
    ok,
    problems: problems.slice(0, MAX_PROBLEMS),
    newestBackup: backup ? { path: backup.path, takenAt: backup.takenAt } : null,
    restore: restoreSteps(file, backup),
  };
}

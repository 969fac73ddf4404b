/**
 * The backups of the home's database, in HOME/backups:
 *
 *   mixup-studio-YYYYMMDD-HHMMSS.sqlite                      once a day while the app (or a command) runs
 *   mixup-studio-YYYYMMDD-HHMMSS-pre-migration-vN.sqlite     before migrating a version-N database
 *
 * (UTC times.) The last DAILY_KEPT daily and PRE_MIGRATION_KEPT pre-migration ones are kept. A backup is
 * written under a temporary name and renamed when complete, so a listed backup is always whole; the callers
 * take one only from a database that passed its check, so a good backup is never rotated out by a damaged one.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sweepDeadTemps } from '../core/temp-files';

export const DAILY_KEPT = 5;
export const PRE_MIGRATION_KEPT = 3;
export const DAILY_INTERVAL_MS = 24 * 60 * 60 * 1000;

export interface BackupInfo {
  path: string;
  /** ISO time the backup was taken (from its name). */
  takenAt: string;
  kind: 'daily' | 'pre-migration';
  /** The schema version a pre-migration backup holds. */
  version?: number;
}

const NAME = /^mixup-studio-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-pre-migration-v(\d+))?\.sqlite$/;
const TEMP = /^\.mixup-studio-.*\.(\d+)\.tmp(?:-wal|-shm|-journal)?$/;

export function backupsDir(dbFile: string): string {
  return join(dirname(dbFile), 'backups');
}

/** Every backup beside `dbFile`, newest first. */
export function listBackups(dbFile: string): BackupInfo[] {
  const dir = backupsDir(dbFile);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: BackupInfo[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const takenAt = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
    if (!Number.isFinite(Date.parse(takenAt))) continue;
    const info: BackupInfo = { path: join(dir, name), takenAt, kind: m[7] ? 'pre-migration' : 'daily' };
    if (m[7]) info.version = Number(m[7]);
    found.push(info);
  }
  return found.sort((a, b) => (a.takenAt === b.takenAt ? b.path.localeCompare(a.path) : b.takenAt.localeCompare(a.takenAt)));
}

export function newestBackup(dbFile: string): BackupInfo | undefined {
  return listBackups(dbFile)[0];
}

/** When the next daily backup is due: a day after the newest daily one (now, when there is none). */
export function dailyBackupDueAt(dbFile: string): number {
  const newest = listBackups(dbFile).find((b) => b.kind === 'daily');
  return newest ? Date.parse(newest.takenAt) + DAILY_INTERVAL_MS : 0;
}

/** The restore steps `db check` shows. */
export function restoreSteps(dbFile: string, backup: BackupInfo | undefined): string {
  if (!backup) {
    return `No backup is kept yet (one is taken once a day and before every upgrade, into ${backupsDir(dbFile)}). To start over, close MixUp Studio and move ${dbFile} aside; a new, empty database is created at the next start.`;
  }
  return `Close MixUp Studio (the app, \`serve\` and any running command), copy ${backup.path} over ${dbFile}, and delete ${dbFile}-wal and ${dbFile}-shm if they exist. Changes made after ${backup.takenAt} are lost.`;
}

function stamp(at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}-${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
}

function prepare(dbFile: string, name: string): { final: string; temp: string } {
  const dir = backupsDir(dbFile);
  mkdirSync(dir, { recursive: true });
  return { final: join(dir, name), temp: join(dir, `.${name}.${process.pid}.tmp`) };
}

function rotate(dbFile: string, kind: BackupInfo['kind'], keep: number): void {
  for (const old of listBackups(dbFile).filter((b) => b.kind === kind).slice(keep)) {
    for (const f of [old.path, `${old.path}-wal`, `${old.path}-shm`]) rmSync(f, { force: true });
  }
}

/**
 * Makes a finished copy one self-contained file on disk: rollback-journal mode (a copy of a WAL database is
 * in WAL mode, and even a read-only look at it leaves -wal/-shm files beside it), then fsync (neither
 * `VACUUM INTO` nor a journal-mode change guarantees the data reached the disk).
 */
function settle(temp: string): void {
  const copy = new Database(temp, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  const fd = openSync(temp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The backup before a migration, synchronous because opening (and so migrating) is: `VACUUM INTO`, SQLite's
 * consistent snapshot into a new file (the online-backup API of better-sqlite3 is asynchronous only).
 */
export function backupBeforeMigration(db: Database.Database, dbFile: string, fromVersion: number, at = new Date()): string {
  const { final, temp } = prepare(dbFile, `mixup-studio-${stamp(at)}-pre-migration-v${fromVersion}.sqlite`);
  try {
    rmSync(temp, { force: true });
    db.prepare('VACUUM INTO ?').run(temp);
    // On disk before the migration changes the original.
    settle(temp);
    renameSync(temp, final);
  } catch (err) {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
    throw err;
  }
  rotate(dbFile, 'pre-migration', PRE_MIGRATION_KEPT);
  return final;
}

/**
 * The daily backup, through SQLite's online backup API (`db.backup`). All pages go in one step: one read
 * transaction, so a writer in another process cannot make it start over, and it ends within a few ticks.
 */
export async function dailyBackup(db: Database.Database, dbFile: string, at = new Date()): Promise<string> {
  const { final, temp } = prepare(dbFile, `mixup-studio-${stamp(at)}.sqlite`);
  try {
    rmSync(temp, { force: true });
    await db.backup(temp, { progress: () => 0x7fffffff });
    settle(temp);
    renameSync(temp, final);
  } catch (err) {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
    throw err;
  }
  rotate(dbFile, 'daily', DAILY_KEPT);
  return final;
}

export function sweepBackupTemps(dbFile: string): void {
  sweepDeadTemps(backupsDir(dbFile), TEMP);
}

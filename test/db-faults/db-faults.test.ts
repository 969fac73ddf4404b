/**
 * A damaged database is refused, never used or replaced, and the way back is kept: real SQLite files in temp
 * homes, damaged the way a disk or a stray program damages them, and the real CLI run over them.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { openServices } from '../../src-main/db/open-home';
import { ALWAYS_CHECK_BYTES } from '../../src-main/db/check';
import { migrate } from '../../src-main/db/migrate';
import { migrations } from '../../src-main/db/migrations';
import { runCli } from '../helpers/cli';
import { tempDir, testContext } from '../helpers/temp';
import { baseConfig, sampleSplits } from '../training/fixture';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function home(): string {
  const t = tempDir('mixup-dbfault-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const dbFile = (h: string) => join(h, 'mixup-studio.sqlite');
const backupsOf = (h: string) => (existsSync(join(h, 'backups')) ? readdirSync(join(h, 'backups')).sort() : []);

/** A home whose database holds a dataset of `images` rows: data in many pages. */
function homeWithData(images: number): string {
  const h = home();
  const s = openServices({ home: h });
  const { db } = s;
  db.prepare("INSERT INTO datasets (name, root, scan_state) VALUES ('birds', '/data/birds', 'complete')").run();
  for (let c = 0; c < 20; c++) db.prepare('INSERT INTO classes (dataset_id, name) VALUES (1, ?)').run(`class-${c}`);
  const ins = db.prepare(
    `INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels)
     VALUES (1, ?, ?, 'train', 'auto', 1000, 1700000000000, ?, 'jpeg', 64, 64, 3)`,
  );
  db.transaction(() => {
    for (let i = 0; i < images; i++) ins.run(`class-${i % 20}/img-${String(i).padStart(6, '0')}.jpg`, 1 + (i % 20), randomBytes(32).toString('hex'));
  })();
  s.close();
  return h;
}

/** Writes random bytes over whole pages of the file, from `fromFraction` of its pages for `pages` pages. */
function writeGarbage(file: string, fromFraction: number, pages: number): void {
  const pageSize = 4096;
  const total = Math.floor(statSync(file).size / pageSize);
  const first = Math.max(2, Math.floor(total * fromFraction));
  const fd = openSync(file, 'r+');
  try {
    for (let p = first; p < Math.min(total, first + pages); p++) writeSync(fd, randomBytes(pageSize), 0, pageSize, p * pageSize);
  } finally {
    closeSync(fd);
  }
}

/** Writes random bytes over `pages` pages of the file from page index `first` (0-based). */
function writeGarbageAt(file: string, first: number, pages: number): void {
  const fd = openSync(file, 'r+');
  try {
    for (let p = first; p < first + pages; p++) writeSync(fd, randomBytes(4096), 0, 4096, p * 4096);
  } finally {
    closeSync(fd);
  }
}

/**
 * Grows the home's database past ALWAYS_CHECK_BYTES with a table of its own (at its end), then runs a command:
 * its open checks the file, notes the check passed and takes the daily backup, so for a day no open checks it.
 */
async function padBeyondAlwaysCheck(h: string): Promise<void> {
  const db = new Database(dbFile(h));
  db.exec('CREATE TABLE test_padding (b BLOB)');
  const ins = db.prepare('INSERT INTO test_padding (b) VALUES (zeroblob(1048576))');
  db.transaction(() => {
    for (let i = 0; i < ALWAYS_CHECK_BYTES / 1048576 + 2; i++) ins.run();
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  expect(statSync(dbFile(h)).size).toBeGreaterThan(ALWAYS_CHECK_BYTES);
  expect((await runCli(['datasets', '--json'], { home: h })).code).toBe(0);
  expect(backupsOf(h).filter((n) => n.endsWith('.sqlite'))).toHaveLength(1);
}

/** A daily backup's name for a moment long past. */
const oldDaily = (i: number) => `mixup-studio-2020010${1 + Math.floor(i / 10)}-0000${String(i % 10).padStart(2, '0')}.sqlite`;

describe('a damaged database', () => {
  it('with 4 KiB of garbage in the middle: `db check` exits non-zero naming the file and the newest backup, and `datasets` refuses with the classified error', async () => {
    const h = homeWithData(3000);
    // The first command over an existing home with no backup takes the daily one (from a database that passed its check).
    const first = await runCli(['datasets', '--json'], { home: h });
    expect(first.code).toBe(0);
    const taken = backupsOf(h).filter((n) => n.endsWith('.sqlite'));
    expect(taken).toHaveLength(1);
    const backup = join(h, 'backups', taken[0]!);

    writeGarbage(dbFile(h), 0.5, 1);

    const check = await runCli(['db', 'check', '--json'], { home: h });
    expect(check.code).not.toBe(0);
    const report = check.json();
    expect(report.file).toBe(dbFile(h));
    expect(report.ok).toBe(false);
    expect(report.problems.length).toBeGreaterThan(0);
    expect(report.problems.length).toBeLessThanOrEqual(20);
    expect(report.newestBackup.path).toBe(backup);
    expect(typeof report.newestBackup.takenAt).toBe('string');
    expect(report.restore).toContain(backup);
    expect(check.stderr).toContain(dbFile(h));

    const before = readFileSync(dbFile(h));
    const list = await runCli(['datasets', '--json'], { home: h });
    expect(list.code).not.toBe(0);
    expect(list.stdout).toBe('');
    expect(list.stderr.trim().split('\n')).toHaveLength(1);
    expect(list.stderr).toContain(dbFile(h));
    expect(list.stderr).toContain('db check');
    expect(list.stderr).toContain(backup);
    // Refused before any write: the damaged file is as it was.
    expect(readFileSync(dbFile(h)).equals(before)).toBe(true);

    // The way back `db check` gives works: copy the backup over the file, drop -wal/-shm.
    copyFileSync(backup, dbFile(h));
    for (const f of [`${dbFile(h)}-wal`, `${dbFile(h)}-shm`]) rmSync(f, { force: true });
    const restored = await runCli(['datasets', '--json'], { home: h });
    expect(restored.code).toBe(0);
    expect(restored.json().map((d: { name: string }) => d.name)).toEqual(['birds']);
  });

  it('is never backed up: a due daily backup over a damaged database neither adds a file nor rotates a good one out', async () => {
    const h = homeWithData(3000);
    mkdirSync(join(h, 'backups'));
    const goodOnes = [0, 1, 2, 3, 4].map(oldDaily);
    for (const name of goodOnes) copyFileSync(dbFile(h), join(h, 'backups', name));
    writeGarbage(dbFile(h), 0.5, 1);
    const r = await runCli(['datasets', '--json'], { home: h });
    expect(r.code).not.toBe(0);
    expect(backupsOf(h)).toEqual(goodOnes);
  });

  it('with 4 KiB of garbage in a 5 MiB database whose check passed today is refused at the next open (every file up to 64 MiB is checked at each open)', async () => {
    const h = homeWithData(16000);
    expect(statSync(dbFile(h)).size).toBeGreaterThan(5 * 1024 * 1024);
    // Checked, backed up (no daily backup due: none of its checks either), the check noted as passed.
    expect((await runCli(['datasets', '--json'], { home: h })).code).toBe(0);
    expect((await runCli(['db', 'check', '--json'], { home: h })).code).toBe(0);
    writeGarbage(dbFile(h), 0.5, 1);
    const r = await runCli(['runs', 'list', '--json'], { home: h });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/database .*mixup-studio\.sqlite is damaged \(SQLite's quick check/);
    expect(r.stderr).toContain('mixup-studio db check');
  });

  it('met by an operation on a database beyond 64 MiB (no check due at open) becomes one corrupt error naming the file, and the next open checks again', async () => {
    const h = homeWithData(14000);
    const pagesOfImages = Math.floor(statSync(dbFile(h)).size / 4096);
    await padBeyondAlwaysCheck(h);
    // Over the images (the padding comes after them).
    writeGarbageAt(dbFile(h), Math.floor(pagesOfImages * 0.3), 200);
    const r = await runCli(['datasets', '--json'], { home: h });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/database .*mixup-studio\.sqlite is damaged/);
    expect(r.stderr).toContain(dbFile(h));
    expect(r.stderr).toContain('mixup-studio db check');
    expect(r.stderr).not.toMatch(/SqliteError|DatabaseError/);
    // A command that never reads the damaged pages is refused too: meeting damage forgot the day's passed check.
    const next = await runCli(['runs', 'list', '--json'], { home: h });
    expect(next.code).not.toBe(0);
    expect(next.stderr).toMatch(/is damaged \(SQLite's quick check/);
  });

  it('met by the training worker is the same corrupt error naming the file and `db check`; the home is refused afterwards', async () => {
    const data = tempDir('mixup-dbfault-data-');
    cleanups.push(data.cleanup);
    sampleSplits(data.dir, { train: 6, val: 2, test: 0 });
    const h = home();
    expect((await runCli(['index', data.dir, '--name', 'fm', '--json'], { home: h })).code).toBe(0);
    await padBeyondAlwaysCheck(h);
    // Only the worker writes run_epochs (at the end of an epoch): garbage over its root page.
    const probe = new Database(dbFile(h), { readonly: true, fileMustExist: true });
    const root = probe.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'run_epochs'`).pluck().get() as number;
    probe.close();
    writeGarbageAt(dbFile(h), root - 1, 1);
    const config = join(h, 'train.json');
    writeFileSync(config, JSON.stringify({ ...baseConfig, epochs: 1 }));
    const r = await runCli(['train', 'fm', '--config', config, '--json'], { home: h, timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    const last = r.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(/database .*mixup-studio\.sqlite is damaged/);
    expect(last).toContain(dbFile(h));
    expect(last).toContain('mixup-studio db check');
    // It got as far as training: the worker met the damage, not an open check.
    expect(r.stderr).toMatch(/run \d+: training on /);
    const next = await runCli(['datasets', '--json'], { home: h });
    expect(next.code).not.toBe(0);
    expect(next.stderr).toContain('db check');
  }, 180_000);

  it('`db check` reads without writing: a damaged file with an unapplied WAL is left byte for byte, WAL included', async () => {
    const h = homeWithData(3000);
    // A process killed with committed rows still in the WAL (no checkpoint).
    const writer = spawnSync(process.execPath, ['-e', `
      const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(dbFile(h))});
      db.pragma('wal_autocheckpoint = 0');
      db.prepare("INSERT INTO settings (key, value) VALUES ('left-in-wal', '1')").run();
      process.kill(process.pid, 'SIGKILL');`]);
    expect(writer.signal).toBe('SIGKILL');
    expect(statSync(`${dbFile(h)}-wal`).size).toBeGreaterThan(0);
    writeGarbage(dbFile(h), 0.5, 1);
    const main = readFileSync(dbFile(h));
    const wal = readFileSync(`${dbFile(h)}-wal`);
    const check = await runCli(['db', 'check', '--json'], { home: h });
    expect(check.code).not.toBe(0);
    expect(check.json().ok).toBe(false);
    expect({ main: readFileSync(dbFile(h)).equals(main), wal: existsSync(`${dbFile(h)}-wal`) && readFileSync(`${dbFile(h)}-wal`).equals(wal) }).toEqual({ main: true, wal: true });
  });

  it('that finds its disk full names the file and says to free space (SQLITE_FULL), and keeps what was saved', async () => {
    const h = homeWithData(200);
    const data = tempDir('mixup-dbfault-full-');
    cleanups.push(data.cleanup);
    sampleSplits(data.dir, { train: 6, val: 2, test: 0 });
    const services = openServices({ home: h });
    cleanups.unshift(() => services.close());
    // The database may not grow by a page: as on a disk with no space left.
    const pages = services.db.pragma('page_count', { simple: true }) as number;
    services.db.pragma(`max_page_count = ${pages}`);
    const { ctx } = testContext(services);
    const err = (await invokeOperation(operations, 'datasets:index', { root: data.dir, name: 'full' }, ctx).then(
      () => new Error('indexed on a full disk'),
      (e: Error) => e,
    )) as Error;
    expect(err).toMatchObject({ kind: 'io' });
    expect(err.message).toContain(dbFile(h));
    expect(err.message).toMatch(/full \(SQLITE_FULL\): free some space/);
    services.db.pragma(`max_page_count = ${2 ** 30}`);
    expect(services.db.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(200);
    expect(services.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('of 0 bytes is refused naming the file, and not re-created', async () => {
    const h = home();
    writeFileSync(dbFile(h), '');
    const r = await runCli(['datasets', '--json'], { home: h });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(dbFile(h));
    expect(r.stderr).toContain('db check');
    const check = await runCli(['db', 'check', '--json'], { home: h });
    expect(check.code).not.toBe(0);
    expect(check.json()).toMatchObject({ file: dbFile(h), ok: false, newestBackup: null });
    expect(statSync(dbFile(h)).size).toBe(0);
    expect(existsSync(`${dbFile(h)}-wal`)).toBe(false);
  });

  it('that is a FIFO is refused at once as not a regular file; a --home that is a file is an input error saying so', async () => {
    const h = home();
    spawnSync('mkfifo', [dbFile(h)]);
    const r = await runCli(['datasets', '--json'], { home: h, timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('is a FIFO (named pipe), not a regular file');
    const file = join(home(), 'not-a-folder');
    writeFileSync(file, 'x');
    const f = await runCli(['datasets', '--json'], { home: file });
    expect(f.code).toBe(2);
    expect(f.stderr).toContain(`cannot create home folder ${file}: it (or a folder above it) is a file, not a folder`);
  });

  it('that is a text file is refused naming the file, its bytes unchanged and never quoted', async () => {
    const h = home();
    const text = 'secret-looking text that is not SQLite\n'.repeat(200);
    writeFileSync(dbFile(h), text);
    const r = await runCli(['datasets', '--json'], { home: h });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(dbFile(h));
    expect(r.stderr).not.toContain('secret-looking');
    const check = await runCli(['db', 'check', '--json'], { home: h });
    expect(check.code).not.toBe(0);
    expect(check.json().ok).toBe(false);
    expect(check.stdout).not.toContain('secret-looking');
    expect(readFileSync(dbFile(h), 'utf8')).toBe(text);
  });

  it('still opens for the app and `serve` (one contract): `db:check` reports, every other operation refuses with kind corrupt', async () => {
    const h = homeWithData(3000);
    writeGarbage(dbFile(h), 0.5, 1);
    const services = openServices({ home: h });
    cleanups.unshift(() => services.close());
    expect(services.damage?.kind).toBe('corrupt');
    const { ctx } = testContext(services);
    const report = (await invokeOperation(operations, 'db:check', {}, ctx)) as { ok: boolean; file: string };
    expect(report).toMatchObject({ ok: false, file: dbFile(h) });
    await expect(invokeOperation(operations, 'datasets:list', {}, ctx)).rejects.toMatchObject({ kind: 'corrupt' });
    await expect(invokeOperation(operations, 'system:info', {}, ctx)).rejects.toThrow(/db check/);
  });

  it('is still created when missing (a new home), and `db check` says ok', async () => {
    const h = home();
    const r = await runCli(['db', 'check', '--json'], { home: h });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ file: dbFile(h), ok: true, problems: [], newestBackup: null });
    expect(typeof r.json().restore).toBe('string');
  });
});

describe('backups of the database', () => {
  it('a migration first takes a pre-migration backup holding the old schema and its data, keeping the last 3', async () => {
    const h = home();
    const old = new Database(dbFile(h));
    old.pragma('journal_mode = WAL');
    migrate(old, migrations.slice(0, 1));
    old.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('window', '{"w":800}');
    old.close();
    mkdirSync(join(h, 'backups'));
    const older = [1, 2, 3].map((i) => `mixup-studio-2020010${i}-000000-pre-migration-v1.sqlite`);
    for (const name of older) copyFileSync(dbFile(h), join(h, 'backups', name));

    const r = await runCli(['datasets', '--json'], { home: h });
    expect(r.code).toBe(0);
    const pre = backupsOf(h).filter((n) => n.includes('-pre-migration-'));
    expect(pre).toHaveLength(3);
    const fresh = pre.filter((n) => !older.includes(n));
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).toMatch(/^mixup-studio-\d{8}-\d{6}-pre-migration-v1\.sqlite$/);
    const copy = new Database(join(h, 'backups', fresh[0]!), { readonly: true, fileMustExist: true });
    try {
      expect(copy.pragma('user_version', { simple: true })).toBe(1);
      expect(copy.prepare('SELECT value FROM settings WHERE key = ?').get('window')).toEqual({ value: '{"w":800}' });
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      copy.close();
    }
    const now = new Database(dbFile(h), { readonly: true, fileMustExist: true });
    expect(now.pragma('user_version', { simple: true })).toBe(migrations.length);
    now.close();
  });

  it('the daily backup, taken when the newest is older than a day, keeps the last 5 daily ones, rotates no pre-migration one, and a killed one\'s temp file is swept', async () => {
    const h = homeWithData(200);
    mkdirSync(join(h, 'backups'));
    // What a backup killed midway leaves: its temporary file, named with a pid that is gone.
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(h, 'backups', `.mixup-studio-20200102-000000.sqlite.${deadPid}.tmp`), 'half a backup');
    const olds = [0, 1, 2, 3, 4, 5, 6].map(oldDaily);
    for (const name of olds) copyFileSync(dbFile(h), join(h, 'backups', name));
    const pre = 'mixup-studio-20190101-000000-pre-migration-v5.sqlite';
    copyFileSync(dbFile(h), join(h, 'backups', pre));

    const r = await runCli(['datasets', '--json'], { home: h });
    expect(r.code).toBe(0);
    const after = backupsOf(h);
    const daily = after.filter((n) => /^mixup-studio-\d{8}-\d{6}\.sqlite$/.test(n));
    expect(daily).toHaveLength(5);
    expect(daily.slice(0, 4)).toEqual(olds.slice(3));
    const fresh = daily[4]!;
    expect(olds).not.toContain(fresh);
    expect(after).toContain(pre);
    expect(after.filter((n) => !n.endsWith('.sqlite'))).toEqual([]);
    const copy = new Database(join(h, 'backups', fresh), { readonly: true, fileMustExist: true });
    try {
      expect(copy.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(200);
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      copy.close();
    }
    // Not due again the same day: a second command adds nothing.
    const again = await runCli(['datasets', '--json'], { home: h });
    expect(again.code).toBe(0);
    expect(backupsOf(h)).toEqual(after);
  });
});

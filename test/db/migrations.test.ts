import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/db/connection';
import { checkRegistry, migrate, type Migration } from '../../src-main/db/migrate';
import { migrations } from '../../src-main/db/migrations';
import { tempDir } from '../helpers/temp';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
function tmpFile(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return join(t.dir, 'db.sqlite');
}

describe('database connection and migrations', () => {
  it('opens in WAL mode with foreign keys on and migrates to the newest version', () => {
    const db = openDatabase(tmpFile());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    db.close();
  });

  it('numbers the registry 1..N without gaps', () => {
    expect(() => checkRegistry(migrations)).not.toThrow();
    const bad: Migration[] = [{ version: 2, name: 'x', up() {} }];
    expect(() => checkRegistry(bad)).toThrow(/expected 1/);
  });

  it('refuses a database written by a newer version, and leaves it untouched', () => {
    const file = tmpFile();
    const raw = new Database(file);
    raw.exec('CREATE TABLE keep (v TEXT); INSERT INTO keep VALUES (\'precious\')');
    raw.pragma(`user_version = ${migrations.length + 5}`);
    raw.close();
    expect(() => openDatabase(file)).toThrow(/newer MixUp Studio/);
    const again = new Database(file);
    expect(again.pragma('user_version', { simple: true })).toBe(migrations.length + 5);
    expect(again.prepare('SELECT v FROM keep').get()).toEqual({ v: 'precious' });
    again.close();
  });

  it('upgrades an old database step by step, keeping its data, and is idempotent', () => {
    const file = tmpFile();
    // A database at version 1 (settings only) with a row in it.
    const old = new Database(file);
    migrate(old, migrations.slice(0, 1));
    old.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('window', '{"w":800}');
    old.close();
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(db.prepare('SELECT value FROM settings WHERE key = ?').get('window')).toEqual({ value: '{"w":800}' });
    db.close();
    const reopened = openDatabase(file);
    expect(reopened.pragma('user_version', { simple: true })).toBe(migrations.length);
    reopened.close();
  });

  it('rolls a failing migration back whole, so a half-applied schema never persists', () => {
    const file = tmpFile();
    const db = new Database(file);
    const failing: Migration[] = [
      ...migrations.slice(0, 1),
      {
        version: 2,
        name: 'boom',
        up(d) {
          d.exec('CREATE TABLE half (x INTEGER)');
          throw new Error('boom');
        },
      },
    ];
    expect(() => migrate(db, failing)).toThrow('boom');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });

  it('names the file when it is not a database', async () => {
    const file = tmpFile();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'this is plain text, not SQLite '.repeat(100));
    expect(() => openDatabase(file)).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')}.*(not a database|NOTADB)`));
  });
});

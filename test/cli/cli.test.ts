import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

describe('mixup-studio command basics', () => {
  it('prints exactly one JSON document with --json, in the --home given', async () => {
    const t = tempDir();
    try {
      const r = await runCli(['info', '--json'], { home: t.dir });
      expect(r.code).toBe(0);
      expect(r.json().home).toBe(t.dir);
    } finally {
      t.cleanup();
    }
  });

  it('exits non-zero with one stderr line for an unknown command', async () => {
    const r = await runCli(['no-such-command']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'no-such-command'/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    const missing = await runCli(['index']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("mixup-studio: missing required argument 'dir' (see --help)\n");
  });

  it('names the database file when the home holds a database from a newer version', async () => {
    const t = tempDir();
    try {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(`${t.dir}/mixup-studio.sqlite`);
      db.pragma('user_version = 999');
      db.close();
      const r = await runCli(['info', '--json'], { home: t.dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/mixup-studio\.sqlite was written by a newer MixUp Studio/);
    } finally {
      t.cleanup();
    }
  });
});

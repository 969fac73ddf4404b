/**
 * Fault injection: runs `mixup-studio` in its own process group, as a user's shell would, and kills the whole
 * group with SIGKILL at a chosen moment. Then the checks a user relies on after a crash: the database is intact,
 * no status claims a dead process is working, and no temporary file is left once the owner has run again.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

const root = resolve(__dirname, '..', '..');

export interface Killed {
  /** True when the process was still running at the kill (false: it had already finished). */
  killedMidway: boolean;
  stderr: string;
  code: number | null;
}

/** Starts the CLI from the sources in a new process group and SIGKILLs the group after `delayMs`. */
export function runAndKill(args: string[], home: string, delayMs: number): Promise<Killed> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, ...args], {
      cwd: root,
      env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let exited = false;
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      if (exited) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* the group is gone already */
      }
    }, delayMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      // A training worker is a grandchild in the same group; make sure nothing of the group survives the test.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      resolvePromise({ killedMidway: signal === 'SIGKILL', stderr, code });
    });
  });
}

/** `PRAGMA integrity_check` and `foreign_key_check` of the home's database, read-only. */
export function integrity(home: string): { integrity: string; foreignKeyProblems: number } {
  const db = new Database(join(home, 'mixup-studio.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    const fk = db.pragma('foreign_key_check') as unknown[];
    return { integrity, foreignKeyProblems: fk.length };
  } finally {
    db.close();
  }
}

/**
 * Every file or folder under `dir` whose name marks it as a writer's temporary (`NAME.PID[.RANDOM].tmp`,
 * `.NAME.partial-PID-…`); the folders that hold them (`thumbs/.tmp`) are not leftovers themselves.
 */
export function leftovers(dir: string): string[] {
  const found: string[] = [];
  if (!existsSync(dir)) return found;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (/\.\d+(\.[A-Za-z0-9]+)?\.tmp$|\.partial-/.test(name)) found.push(p);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return found.sort();
}

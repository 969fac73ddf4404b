import type Database from 'better-sqlite3';
import { AppError } from '../core/errors';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

/** Checks the registry is numbered 1..N without gaps; a mistake here must never reach a user's database. */
export function checkRegistry(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new AppError('internal', `migration '${m.name}' has version ${m.version}, expected ${i + 1}`);
    }
  });
}

export function currentVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to the newest migration, one transaction per migration. Refuses a database
 * written by a newer version of the app (its user_version is above what this build knows).
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], file = 'database'): number {
  checkRegistry(migrations);
  const latest = migrations.length;
  const from = currentVersion(db);
  if (from > latest) {
    throw new AppError(
      'unsupported',
      `${file} was written by a newer MixUp Studio (schema version ${from}; this version knows up to ${latest}). Update the app, or use another --home.`,
    );
  }
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return latest;
}

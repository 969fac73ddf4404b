/**
 * What every operation works with, as a type: the home's folders and its database. The one implementation,
 * which opens and checks the database and keeps its backups, is ../db/open-home.ts (`openServices`).
 */
import type Database from 'better-sqlite3';
import { join, resolve } from 'node:path';
import type { AppError } from './errors';

type Db = Database.Database;

export interface HomePaths {
  home: string;
  db: string;
  thumbs: string;
  runs: string;
  cache: string;
}

/** What every operation works with: the home folder and its database. Built once per process. */
export interface Services {
  home: string;
  /** The database. Throws the 'corrupt' error instead when the file failed its check (see `damage`). */
  db: Db;
  paths: HomePaths;
  /**
   * Set when the database is damaged (refused at open, or SQLite met a damaged page since): every operation
   * but `db:check` refuses, so nothing goes on writing over it.
   */
  readonly damage?: AppError;
  /**
   * What an error thrown by an operation means: SQLite corruption becomes the one 'corrupt' error naming the
   * file, `db check` and the newest backup, and marks the database damaged; anything else is returned as is.
   */
  classify?(err: unknown): unknown;
  /** Takes the daily backup when one is due; cheap otherwise. The operation dispatcher awaits it. */
  maintain?(): Promise<void>;
  close(): void;
}

export function homePaths(home: string): HomePaths {
  const abs = resolve(home);
  return {
    home: abs,
    db: join(abs, 'mixup-studio.sqlite'),
    thumbs: join(abs, 'thumbs'),
    runs: join(abs, 'runs'),
    cache: join(abs, 'cache'),
  };
}

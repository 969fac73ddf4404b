import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../api/errors';
import { openDatabase, type Db } from '../db/connection';

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
  db: Db;
  paths: HomePaths;
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

export function openServices(opts: { home: string }): Services {
  const paths = homePaths(opts.home);
  try {
    for (const dir of [paths.home, paths.thumbs, paths.runs, paths.cache]) mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new AppError('io', `cannot create home folder ${paths.home}: ${(err as Error).message}`);
  }
  const db = openDatabase(paths.db);
  let closed = false;
  return {
    home: paths.home,
    db,
    paths,
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

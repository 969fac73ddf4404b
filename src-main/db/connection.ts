import Database from 'better-sqlite3';
import { AppError, toErrorEnvelope } from '../api/errors';
import { migrate } from './migrate';
import { migrations } from './migrations';

export type Db = Database.Database;

/** Opens (creating if needed) the home's SQLite file: WAL, foreign keys on, migrated to the newest schema. */
export function openDatabase(file: string, opts: { readonly?: boolean } = {}): Db {
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false });
  } catch (err) {
    const env = toErrorEnvelope(err);
    throw new AppError(env.kind === 'internal' ? 'io' : env.kind, `cannot open database ${file}: ${env.message}`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    if (!opts.readonly) migrate(db, migrations, file);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof AppError) throw err;
    const env = toErrorEnvelope(err);
    throw new AppError(env.kind, `database ${file}: ${env.message}`);
  }
}

/** Runs `fn` over `items` in transactions of `batchSize` rows: fast bulk writes that stay consistent. */
export function inBatches<T>(db: Db, items: readonly T[], batchSize: number, fn: (item: T) => void): void {
  const run = db.transaction((chunk: readonly T[]) => {
    for (const item of chunk) fn(item);
  });
  for (let i = 0; i < items.length; i += batchSize) run(items.slice(i, i + batchSize));
}

/**
 * What SQLite's result codes mean to the rest of the app (no database access here: pure, and so usable by the
 * error envelope that every process and the renderer share).
 */

/** The error kinds (../core/errors.ts `ErrorKind`) a SQLite result code can mean; this file imports nothing. */
export type SqliteErrorKind = 'corrupt' | 'io' | 'conflict';

/** The error kind of a SQLite result code (`SQLITE_BUSY`, `SQLITE_CORRUPT_VTAB`, ...), or undefined for another code. */
export function sqliteKind(code: string): SqliteErrorKind | undefined {
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  if (code === 'SQLITE_FULL') return 'io';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR')) return 'io';
  if (code.startsWith('SQLITE_CONSTRAINT')) return 'conflict';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'conflict';
  return undefined;
}

/** SQLite's result codes for a damaged file. */
export function isSqliteCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** SQLite's result code for a write that found no space left (the database's disk or its temp space). */
export function isSqliteFull(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_FULL';
}

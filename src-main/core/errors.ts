/**
 * The error envelope every front end shares. An operation throws `AppError` with a kind; the envelope
 * `{name, message, kind}` crosses IPC / HTTP / the CLI and is rebuilt as a real Error on the other side.
 */
import { sqliteKind } from '../db/errors';

export type ErrorKind =
  | 'input'
  | 'not-found'
  | 'conflict'
  | 'corrupt'
  | 'io'
  | 'cancelled'
  | 'unsupported'
  | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'input',
  'not-found',
  'conflict',
  'corrupt',
  'io',
  'cancelled',
  'unsupported',
  'internal',
];

export interface ErrorEnvelope {
  name: string;
  message: string;
  kind: ErrorKind;
  details?: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function cancelled(what = 'operation'): AppError {
  return new AppError('cancelled', `${what} cancelled`);
}

/** Throws the cancellation error when the signal has fired; call it between units of work. */
export function throwIfCancelled(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw cancelled(what);
}

function isZodLike(err: unknown): err is { issues: { path: PropertyKey[]; message: string }[] } {
  return typeof err === 'object' && err !== null && Array.isArray((err as { issues?: unknown }).issues);
}

/** Describes validation issues as one line naming each field at fault. */
export function describeIssues(issues: { path: PropertyKey[]; message: string }[], prefix = ''): string {
  return issues
    .map((i) => {
      const field = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      return field ? `${field}: ${i.message}` : i.message;
    })
    .join('; ');
}

export function toErrorEnvelope(err: unknown): ErrorEnvelope {
  if (err instanceof AppError) {
    const env: ErrorEnvelope = { name: err.name, message: err.message, kind: err.kind };
    if (err.details !== undefined) env.details = err.details;
    return env;
  }
  if (isZodLike(err)) {
    return { name: 'ValidationError', message: describeIssues(err.issues), kind: 'input' };
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') {
      const kind = sqliteKind(code);
      // Damage met where the file is not known (the op dispatcher names it): still say what to run.
      if (kind === 'corrupt') {
        return { name: 'DatabaseError', message: `the database is damaged (${err.message}, ${code}): run \`mixup-studio db check\``, kind };
      }
      if (code === 'SQLITE_FULL') {
        return { name: 'DatabaseError', message: `the disk holding the database is full (${code}): free some space, then try again`, kind: 'io' };
      }
      if (kind) return { name: 'DatabaseError', message: `${err.message} (${code})`, kind };
      if (['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ENOSPC', 'EROFS', 'ELOOP'].includes(code)) {
        return { name: 'FileSystemError', message: err.message, kind: code === 'ENOENT' ? 'not-found' : 'io' };
      }
    }
    return { name: err.name || 'Error', message: err.message, kind: 'internal' };
  }
  return { name: 'Error', message: String(err), kind: 'internal' };
}

/** Rebuilds an envelope into a real Error (an AppError) on the receiving side. */
export function fromErrorEnvelope(env: ErrorEnvelope): AppError {
  const kind = ERROR_KINDS.includes(env.kind) ? env.kind : 'internal';
  const err = new AppError(kind, env.message, env.details);
  if (env.name && env.name !== 'AppError') err.name = env.name;
  return err;
}

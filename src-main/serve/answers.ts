/**
 * How `serve` answers over HTTP: the security headers on every answer, JSON bodies and error envelopes, and the
 * HTTP status of each error kind.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorEnvelope } from '../core/errors';
import { BASE_HEADERS } from '../api/page-files';

/** BASE_HEADERS and what a browser page served over HTTP needs on top: no framing, no foreign openers or readers. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...BASE_HEADERS,
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function statusFor(env: ErrorEnvelope): number {
  switch (env.kind) {
    case 'input':
      return 400;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'cancelled':
      return 409;
    case 'unsupported':
      return 501;
    default:
      return 500;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  // Part of an answer already went out (a file stream failed halfway): all that is left is to cut it.
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, env: ErrorEnvelope): void {
  sendJson(res, status, { error: env });
}

/** The envelope of a refusal `serve` makes itself (no route, wrong method...): `{name: 'AppError', kind, message}`. */
export function appError(kind: ErrorEnvelope['kind'], message: string): ErrorEnvelope {
  return { name: 'AppError', kind, message };
}

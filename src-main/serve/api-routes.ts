/**
 * The HTTP API of `serve` (after the request guards): `POST /api/call/<name>` runs an operation with the JSON body
 * as its input (an optional `x-mixup-call-id` header names the call), `POST /api/cancel/<id>` cancels one,
 * `POST /api/calls` lists the running ones. Answers are the envelope; an error's kind picks the status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallRegistry } from '../api/calls';
import { AppError, toErrorEnvelope, type ErrorEnvelope } from '../core/errors';
import { decodeOr, MAX_BODY } from './access';
import { appError, sendError, sendJson, statusFor } from './answers';

export const CALL_ID_HEADER = 'x-mixup-call-id';

function badEncoding(field: string): ErrorEnvelope {
  return appError('input', `${field} is not valid percent-encoding: encode it with encodeURIComponent`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new AppError('input', `request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handleCall(calls: CallRegistry, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  let input: unknown = {};
  try {
    const body = await readBody(req);
    if (body.trim()) input = JSON.parse(body);
  } catch (err) {
    // Not V8's JSON.parse message: it quotes the body.
    const env = err instanceof AppError ? toErrorEnvelope(err) : toErrorEnvelope(new AppError('input', `${name}: the request body is not JSON`));
    return sendError(res, 400, env);
  }
  const callId = req.headers[CALL_ID_HEADER];
  // The call goes on if the request is dropped (a long training survives a closed tab); only cancel stops it.
  const env = await calls.run(name, input, typeof callId === 'string' ? callId : undefined);
  if ('error' in env) sendError(res, statusFor(env.error), env.error);
  else sendJson(res, 200, env);
}

/** Answers one authorized request under `/api/`. */
export async function handleApi(calls: CallRegistry, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'POST') return sendError(res, 405, appError('input', `${method} ${path}: use POST`));
  const call = /^\/api\/call\/([^/]+)$/.exec(path);
  if (call) {
    const name = decodeOr(call[1]!, null);
    if (name === null) return sendError(res, 400, badEncoding('the operation name (after /api/call/)'));
    return handleCall(calls, req, res, name);
  }
  const cancel = /^\/api\/cancel\/([^/]+)$/.exec(path);
  if (cancel) {
    const id = decodeOr(cancel[1]!, null);
    if (id === null) return sendError(res, 400, badEncoding('the call id (after /api/cancel/)'));
    return sendJson(res, 200, { result: { cancelled: calls.cancel(id) } });
  }
  if (path === '/api/calls') return sendJson(res, 200, { result: calls.list() });
  return sendError(res, 404, appError('not-found', `no API route ${path}`));
}

/**
 * `mixup-studio serve`: the built page and the one contract over HTTP + WebSocket, for a browser on the
 * same machine or at the end of an SSH tunnel. Wire protocol: src-renderer/src/lib/api/client.ts.
 *
 * Security: a random 32-byte token guards every request (page, assets, API, socket, media). The page
 * request carries it as `?token=`; the answer sets an HttpOnly SameSite=Strict cookie so the browser's
 * asset requests carry it too. API calls must send it in the `x-mixup-token` header (a cookie alone is
 * not enough there, so no other site can make the browser call an operation); the socket in its URL.
 * A missing token gets 401, a wrong one 403. The Host header must name this machine (DNS rebinding,
 * hosts.ts): a loopback name while bound to loopback, also its own name and addresses while bound elsewhere,
 * plus the `--allow-host` names; a socket's Origin must be this server.
 *
 * Hostile input never takes the process down: every socket message is validated (messages.ts) and a bad
 * one gets an error frame, and one guard around every handler logs what still escapes and answers it
 * (500, or an error frame), so running calls and trainings survive any request.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Operation } from '../api/contract';
import type { MediaResolver } from '../api/core';
import { AppError, toErrorEnvelope, type ErrorEnvelope } from '../core/errors';
import type { Services } from '../core/services';
import { CallRegistry, type CallEnvelope } from '../api/calls';
import { hostCheck, isLoopback } from './hosts';
import { parseSocketMessage } from './messages';
import { contentType, pageCsp, parseMediaPath, resolveStaticFile } from '../api/page-files';

export const TOKEN_HEADER = 'x-mixup-token';
export const CALL_ID_HEADER = 'x-mixup-call-id';
const MAX_BODY = 16 * 1024 * 1024;

export interface ServeOptions {
  services: Services;
  operations: ReadonlyMap<string, Operation>;
  /** The built renderer folder (out/renderer). */
  rendererDir: string;
  host?: string;
  /** More names the Host header may give (`--allow-host`): a reverse proxy's, a tunnel's. */
  allowHosts?: readonly string[];
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); by default 32 random bytes. */
  token?: string;
  /** An image's bytes by id (src-main/datasets/media.ts `resolveMedia`: checked, bounded, read whole). */
  resolveMedia?: MediaResolver;
  /** Where handler failures are logged (default: stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  token: string;
  calls: CallRegistry;
  /** Stops accepting, cancels running calls and waits for them (at most `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

export { isLoopback };

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i === -1 || part.slice(0, i).trim() !== name) continue;
    // A value with bad percent-encoding is kept as it is: it cannot be the token, so it is refused as wrong.
    const value = part.slice(i + 1).trim();
    return decodeOr(value, value);
  }
  return undefined;
}

/** decodeURIComponent, or `fallback` for bad percent-encoding (which throws URIError). */
function decodeOr<T>(text: string, fallback: T): string | T {
  try {
    return decodeURIComponent(text);
  } catch {
    return fallback;
  }
}

/**
 * The request target as a URL on this server, or null when it is not one. An origin-form target is
 * appended to this server's origin rather than resolved against it: `//x` stays a path, not a host.
 */
/**
 * The request target as a URL, or null when it is not a path on this server. Only the origin form (`/path`) is
 * taken: an absolute-form target (`http://other.host/api/...`) names a host the Host check never sees, and this
 * server is no proxy.
 */
function requestUrl(target: string | undefined): URL | null {
  const raw = target ?? '/';
  if (!raw.startsWith('/')) return null;
  try {
    return new URL(`http://localhost${raw}`);
  } catch {
    return null;
  }
}

function statusFor(env: ErrorEnvelope): number {
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

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  // Part of an answer already went out (a file stream failed halfway): all that is left is to cut it.
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, env: ErrorEnvelope): void {
  sendJson(res, status, { error: env });
}

function badEncoding(field: string): ErrorEnvelope {
  return { name: 'AppError', kind: 'input', message: `${field} is not valid percent-encoding: encode it with encodeURIComponent` };
}

/**
 * Wraps an event handler so that nothing it throws or rejects with escapes to the process (an uncaught
 * exception or unhandled rejection would end `serve` and every call running in it): the error is logged
 * and `answer` replies to whoever sent the request, as far as that is still possible.
 */
function guarded<A extends unknown[]>(
  log: (line: string) => void,
  handler: (...args: A) => unknown,
  where: (args: A) => string,
  answer: (err: unknown, args: A) => void,
): (...args: A) => void {
  return (...args: A) => {
    const fail = (err: unknown) => {
      log(`serve: ${where(args)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      try {
        answer(err, args);
      } catch {
        /* the peer is gone; nothing left to tell it */
      }
    };
    try {
      const out = handler(...args);
      if (out instanceof Promise) out.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
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

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(32).toString('hex');
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const hosts = hostCheck(host, opts.allowHosts);
  const calls = new CallRegistry(opts.operations, () => opts.services);
  const sockets = new Set<WebSocket>();
  let port = opts.port ?? 0;
  const cookieName = () => `mixup_token_${port}`;

  /** 'ok', or why to refuse: 401 no token, 403 wrong token, 'host' a Host that does not name this machine (403). */
  const authorize = (req: IncomingMessage, url: URL, where: 'header' | 'query' | 'page'): 'ok' | 401 | 403 | 'host' => {
    if (!hosts.accepts(req.headers.host)) return 'host';
    const header = req.headers[TOKEN_HEADER];
    const candidates: Array<string | undefined> =
      where === 'header'
        ? [typeof header === 'string' ? header : undefined]
        : [url.searchParams.get('token') ?? undefined, cookieValue(req, cookieName()), typeof header === 'string' ? header : undefined];
    const given = candidates.filter((c): c is string => Boolean(c));
    if (given.length === 0) return 401;
    return given.some((g) => sameToken(g, token)) ? 'ok' : 403;
  };

  const refuse = (res: ServerResponse, why: 401 | 403 | 'host') =>
    sendError(res, why === 401 ? 401 : 403, {
      name: 'Unauthorized',
      kind: 'input',
      message:
        why === 401
          ? 'this request has no session token: open the address printed by `mixup-studio serve`'
          : why === 403
            ? 'the session token is wrong: open the address printed by `mixup-studio serve`'
            : "the request's Host header does not name this machine (a guard against DNS rebinding): open the address printed by `mixup-studio serve`, or start it with --allow-host NAME for the name you use",
    });

  const servePage = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const wsHosts = new Set([`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]);
    if (req.headers.host) wsHosts.add(`ws://${req.headers.host}`);
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': pageCsp({ connect: [...wsHosts] }),
    };
    const fromQuery = url.searchParams.get('token');
    if (fromQuery && sameToken(fromQuery, token)) {
      headers['set-cookie'] = `${cookieName()}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
    }
    // Read per request: a rebuild (npm run build) while serving changes the asset names it lists.
    const file = resolveStaticFile(opts.rendererDir, '/');
    if (!file) return sendError(res, 404, { name: 'AppError', kind: 'not-found', message: `the page is not built (${opts.rendererDir}/index.html)` });
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  };

  const serveFile = (res: ServerResponse, file: string, type: string, cache: string) => {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cache });
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const handleCall = async (req: IncomingMessage, res: ServerResponse, name: string) => {
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
  };

  const handleMedia = async (res: ServerResponse, kind: 'thumb' | 'image', imageId: number) => {
    if (!opts.resolveMedia) return sendError(res, 501, { name: 'AppError', kind: 'unsupported', message: 'media are not available' });
    try {
      const media = await opts.resolveMedia(opts.services, kind, imageId);
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': media.contentType, 'cache-control': 'private, max-age=3600', 'content-length': media.data.length });
      res.end(media.data);
    } catch (err) {
      const env = toErrorEnvelope(err);
      sendError(res, statusFor(env), env);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = requestUrl(req.url);
    if (!url) return sendError(res, 400, { name: 'AppError', kind: 'input', message: 'the request target is not a path on this server' });
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/api/')) {
      const auth = authorize(req, url, 'header');
      if (auth !== 'ok') return refuse(res, auth);
      if (method !== 'POST') return sendError(res, 405, { name: 'AppError', kind: 'input', message: `${method} ${path}: use POST` });
      const call = /^\/api\/call\/([^/]+)$/.exec(path);
      if (call) {
        const name = decodeOr(call[1]!, null);
        if (name === null) return sendError(res, 400, badEncoding('the operation name (after /api/call/)'));
        return handleCall(req, res, name);
      }
      const cancel = /^\/api\/cancel\/([^/]+)$/.exec(path);
      if (cancel) {
        const id = decodeOr(cancel[1]!, null);
        if (id === null) return sendError(res, 400, badEncoding('the call id (after /api/cancel/)'));
        return sendJson(res, 200, { result: { cancelled: calls.cancel(id) } });
      }
      if (path === '/api/calls') return sendJson(res, 200, { result: calls.list() });
      return sendError(res, 404, { name: 'AppError', kind: 'not-found', message: `no API route ${path}` });
    }
    const page = path === '/' || path === '/index.html';
    const auth = authorize(req, url, page ? 'page' : 'query');
    if (auth !== 'ok') return refuse(res, auth);
    if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405, { name: 'AppError', kind: 'input', message: `${method} ${path}: not allowed` });
    if (page) return servePage(req, res, url);
    const media = parseMediaPath(path);
    if (path.startsWith('/media/')) {
      if (!media) return sendError(res, 404, { name: 'AppError', kind: 'not-found', message: `no media at ${path}` });
      return handleMedia(res, media.kind, media.imageId);
    }
    const file = resolveStaticFile(opts.rendererDir, path);
    if (!file) return sendError(res, 404, { name: 'AppError', kind: 'not-found', message: `no file ${path}` });
    serveFile(res, file, contentType(file), path.startsWith('/assets/') ? 'private, max-age=31536000, immutable' : 'no-store');
  };

  // The one guard for HTTP: whatever escapes a handler is logged and answered 500 (or the answer is cut
  // when part of it already went out).
  const server: Server = createServer(
    guarded(
      log,
      (req: IncomingMessage, res: ServerResponse) => handle(req, res),
      ([req]) => `${req.method} ${req.url}`,
      (err, [, res]) => sendError(res, 500, toErrorEnvelope(err)),
    ),
  );
  server.requestTimeout = 0; // a training call may wait for hours on its answer
  server.headersTimeout = 60_000;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });
  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Until `ws` takes the socket over, its errors (a peer that resets) are ours to absorb.
    socket.on('error', () => socket.destroy());
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = requestUrl(req.url);
    if (!url) return deny(400, 'Bad Request');
    if (url.pathname !== '/api/ws') return deny(404, 'Not Found');
    const auth = authorize(req, url, 'query');
    if (auth !== 'ok') return deny(auth === 401 ? 401 : 403, auth === 401 ? 'Unauthorized' : 'Forbidden');
    const origin = req.headers.origin;
    if (origin && req.headers.host && origin !== `http://${req.headers.host}`) return deny(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on(
    'upgrade',
    guarded(
      log,
      upgrade,
      ([req]) => `upgrade ${req.url}`,
      (_err, [, socket]) => {
        if (socket.writable) socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else socket.destroy();
      },
    ),
  );

  /** Sends one frame; a frame JSON cannot carry (a BigInt in a result) becomes an internal error frame. */
  const sendFrame = (ws: WebSocket, frame: { type: string; id?: string } & Record<string, unknown>) => {
    if (ws.readyState !== ws.OPEN) return;
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (err) {
      log(`serve: a ${frame.type} frame for call ${frame.id ?? '(no id)'} could not be sent: ${(err as Error).message}`);
      const error = new AppError('internal', `the ${frame.type} of call ${frame.id ?? '(no id)'} could not be sent as JSON: ${(err as Error).message}`);
      text = JSON.stringify({ type: 'error', id: frame.id, error: toErrorEnvelope(error) });
    }
    ws.send(text);
  };

  const onMessage = (ws: WebSocket, raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const parsed = parseSocketMessage(raw, isBinary);
    if ('error' in parsed) return sendFrame(ws, { type: 'error', id: parsed.id, error: toErrorEnvelope(parsed.error) });
    const msg = parsed.message;
    if (msg.type === 'cancel') {
      calls.cancel(msg.id);
      return;
    }
    return calls.run(msg.name, msg.input ?? {}, msg.id).then((env: CallEnvelope) => {
      sendFrame(ws, { type: 'error' in env ? 'error' : 'result', id: msg.id, ...env });
    });
  };

  // The one guard for the socket: whatever escapes a message handler is logged and answered with an
  // internal error frame; the socket and the server go on.
  wss.on(
    'connection',
    guarded(
      log,
      (ws: WebSocket) => {
        sockets.add(ws);
        ws.on('close', () => sockets.delete(ws));
        ws.on('error', () => sockets.delete(ws));
        ws.on(
          'message',
          guarded(
            log,
            (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => onMessage(ws, raw, isBinary),
            () => 'socket message',
            (err) => sendFrame(ws, { type: 'error', error: toErrorEnvelope(err) }),
          ),
        );
      },
      () => 'socket connection',
      (_err, [ws]) => ws.terminate(),
    ),
  );

  // Keeps idle sockets alive through SSH tunnels and proxies that drop silent connections.
  const pinger = setInterval(() => {
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.ping();
  }, 25_000);
  pinger.unref();

  const offEvents = calls.onEvent((ev) => {
    if (sockets.size === 0) return;
    let text: string;
    try {
      text = JSON.stringify({ type: 'event', topic: ev.topic, data: ev.data, callId: ev.callId });
    } catch {
      return;
    }
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new AppError(
          'io',
          err.code === 'EADDRINUSE'
            ? `port ${opts.port} on ${host} is in use: pick another with --port (0 picks a free one)`
            : `cannot listen on ${host}:${opts.port}: ${err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      // Once listening, a server error (EMFILE on accept) is logged: with no listener it would end the process.
      server.on('error', (err) => log(`serve: ${err.message}`));
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  // Listening on every interface: the address to open on this machine is still the loopback one.
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const urlHost = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
  const url = `http://${urlHost}:${port}/?token=${token}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    token,
    calls,
    close(timeoutMs = 10_000) {
      closing ??= (async () => {
        offEvents();
        clearInterval(pinger);
        const stopped = new Promise<void>((r) => server.close(() => r()));
        for (const ws of sockets) ws.terminate();
        wss.close();
        const settled = await calls.shutdown(timeoutMs);
        if (!settled) log('serve: some calls did not stop in time');
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

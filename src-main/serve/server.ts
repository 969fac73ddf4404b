/**
 * `mixup-studio serve`: the built page and the one contract over HTTP + WebSocket, for a browser on the
 * same machine or at the end of an SSH tunnel. Wire protocol: src-renderer/src/lib/api/client.ts.
 *
 * Security: a random 32-byte token guards every request (page, assets, API, socket, media). The page
 * request carries it as `?token=`; the answer sets an HttpOnly SameSite=Strict cookie so the browser's
 * asset requests carry it too. API calls must send it in the `x-mixup-token` header (a cookie alone is
 * not enough there, so no other site can make the browser call an operation); the socket in its URL.
 * A missing token gets 401, a wrong one 403. The Host header must name a loopback address while bound to
 * one (DNS rebinding), and a socket's Origin must be this server.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Operation } from '../api/contract';
import { AppError, toErrorEnvelope, type ErrorEnvelope } from '../api/errors';
import type { Services } from '../core/services';
import { CallRegistry, type CallEnvelope } from './calls';
import { contentType, pageCsp, parseMediaPath, resolveStaticFile } from './static';

export const TOKEN_HEADER = 'x-mixup-token';
export const CALL_ID_HEADER = 'x-mixup-call-id';
const MAX_BODY = 16 * 1024 * 1024;

export interface ServeOptions {
  services: Services;
  operations: ReadonlyMap<string, Operation>;
  /** The built renderer folder (out/renderer). */
  rendererDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); by default 32 random bytes. */
  token?: string;
  /** Finds an image's file by id (src-main/datasets/media.ts `resolveMedia`). */
  resolveMedia?: (services: Services, kind: 'thumb' | 'image', imageId: number) => Promise<{ file: string; contentType: string }>;
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

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function hostName(hostHeader: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader.trim());
  return m ? m[1]! : '';
}

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
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
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, env: ErrorEnvelope): void {
  sendJson(res, status, { error: env });
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
  const log = opts.log ?? (() => undefined);
  const loopbackOnly = isLoopback(host);
  const calls = new CallRegistry(opts.operations, () => opts.services);
  const sockets = new Set<WebSocket>();
  let port = opts.port ?? 0;
  const cookieName = () => `mixup_token_${port}`;

  /** 'ok', or the status to refuse with: 401 no token, 403 wrong token / foreign host. */
  const authorize = (req: IncomingMessage, url: URL, where: 'header' | 'query' | 'page'): 'ok' | 401 | 403 => {
    if (loopbackOnly && !isLoopback(hostName(req.headers.host ?? ''))) return 403;
    const header = req.headers[TOKEN_HEADER];
    const candidates: Array<string | undefined> =
      where === 'header'
        ? [typeof header === 'string' ? header : undefined]
        : [url.searchParams.get('token') ?? undefined, cookieValue(req, cookieName()), typeof header === 'string' ? header : undefined];
    const given = candidates.filter((c): c is string => Boolean(c));
    if (given.length === 0) return 401;
    return given.some((g) => sameToken(g, token)) ? 'ok' : 403;
  };

  const refuse = (res: ServerResponse, status: 401 | 403) =>
    sendError(res, status, {
      name: 'Unauthorized',
      kind: 'input',
      message:
        status === 401
          ? 'this request has no session token: open the address printed by `mixup-studio serve`'
          : 'the session token is wrong, or the request did not come through a loopback address',
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
      const env = err instanceof AppError ? toErrorEnvelope(err) : toErrorEnvelope(new AppError('input', `${name}: the request body is not JSON: ${(err as Error).message}`));
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
      serveFile(res, media.file, media.contentType, 'private, max-age=3600');
    } catch (err) {
      const env = toErrorEnvelope(err);
      sendError(res, statusFor(env), env);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/api/')) {
      const auth = authorize(req, url, 'header');
      if (auth !== 'ok') return refuse(res, auth);
      if (method !== 'POST') return sendError(res, 405, { name: 'AppError', kind: 'input', message: `${method} ${path}: use POST` });
      const call = /^\/api\/call\/([^/]+)$/.exec(path);
      if (call) return handleCall(req, res, decodeURIComponent(call[1]!));
      const cancel = /^\/api\/cancel\/([^/]+)$/.exec(path);
      if (cancel) return sendJson(res, 200, { result: { cancelled: calls.cancel(decodeURIComponent(cancel[1]!)) } });
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

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`serve: ${req.method} ${req.url}: ${(err as Error).message}`);
      sendError(res, 500, toErrorEnvelope(err));
    });
  });
  server.requestTimeout = 0; // a training call may wait for hours on its answer
  server.headersTimeout = 60_000;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/api/ws') return deny(404, 'Not Found');
    const auth = authorize(req, url, 'query');
    if (auth !== 'ok') return deny(auth, auth === 401 ? 'Unauthorized' : 'Forbidden');
    const origin = req.headers.origin;
    if (origin && req.headers.host && origin !== `http://${req.headers.host}`) return deny(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => sockets.delete(ws));
    ws.on('message', (raw) => {
      let msg: { type?: string; id?: string; name?: string; input?: unknown };
      try {
        msg = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (msg.type === 'start' && typeof msg.name === 'string') {
        const id = typeof msg.id === 'string' ? msg.id : undefined;
        void calls.run(msg.name, msg.input ?? {}, id).then((env: CallEnvelope) => {
          if (ws.readyState !== ws.OPEN) return;
          ws.send(JSON.stringify({ type: 'error' in env ? 'error' : 'result', id, ...env }));
        });
      } else if (msg.type === 'cancel' && typeof msg.id === 'string') {
        calls.cancel(msg.id);
      }
    });
  });

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

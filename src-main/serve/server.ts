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
 *
 * This file composes the parts: the request guards (access.ts), the API (api-routes.ts), the page and its
 * files (page.ts), media (media.ts), the socket (socket.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Operation } from '../api/contract';
import type { MediaResolver } from '../api/core';
import type { TrainingTransport } from '../training/host';
import { AppError, toErrorEnvelope } from '../core/errors';
import type { Services } from '../core/services';
import { CallRegistry } from '../api/calls';
import { hostCheck, isLoopback } from './hosts';
import { authorizer, refuse, requestUrl } from './access';
import { appError, sendError } from './answers';
import { handleApi } from './api-routes';
import { guarded } from './guarded';
import { handleMedia } from './media';
import { isPagePath, servePage, serveStatic, type PageSite } from './page';
import { socketBridge } from './socket';

export { TOKEN_HEADER } from './access';
export { CALL_ID_HEADER } from './api-routes';

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
  /** The core's training transport (api/core.ts): how a run started from the page gets its process. */
  trainingTransport?: () => TrainingTransport;
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

/** Listens on `host:port`; a taken port or a bad address is an `io` AppError that says what to do. */
function listen(server: Server, host: string, port: number | undefined, log: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new AppError(
          'io',
          err.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use: pick another with --port (0 picks a free one)`
            : `cannot listen on ${host}:${port}: ${err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(port ?? 0, host, () => {
      server.off('error', onError);
      // Once listening, a server error (EMFILE on accept) is logged: with no listener it would end the process.
      server.on('error', (err) => log(`serve: ${err.message}`));
      resolve();
    });
  });
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(32).toString('hex');
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const calls = new CallRegistry(opts.operations, () => opts.services, opts.trainingTransport);
  let port = opts.port ?? 0;
  const cookieName = () => `mixup_token_${port}`;
  const authorize = authorizer({ hosts: hostCheck(host, opts.allowHosts), token, cookieName });
  const site: PageSite = { rendererDir: opts.rendererDir, token, port: () => port, cookieName };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = requestUrl(req.url);
    if (!url) return sendError(res, 400, appError('input', 'the request target is not a path on this server'));
    const path = url.pathname;
    if (path.startsWith('/api/')) {
      const auth = authorize(req, url, 'header');
      if (auth !== 'ok') return refuse(res, auth);
      return handleApi(calls, req, res, path);
    }
    const page = isPagePath(path);
    const auth = authorize(req, url, page ? 'page' : 'query');
    if (auth !== 'ok') return refuse(res, auth);
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return sendError(res, 405, appError('input', `${method} ${path}: not allowed`));
    if (page) return servePage(site, req, res, url);
    if (path.startsWith('/media/')) return handleMedia(res, path, opts.services, opts.resolveMedia);
    serveStatic(site, res, path);
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
  const sockets = socketBridge({ calls, authorize, log });
  server.on('upgrade', sockets.upgrade);

  await listen(server, host, opts.port, log);
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
        const stopped = new Promise<void>((r) => server.close(() => r()));
        sockets.close();
        const settled = await calls.shutdown(timeoutMs);
        if (!settled) log('serve: some calls did not stop in time');
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

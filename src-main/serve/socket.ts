/**
 * The WebSocket of `serve` (`/api/ws`): the upgrade (the request guards, and an Origin that must be this server),
 * `start` and `cancel` messages (each validated: messages.ts; a bad one gets an error frame), result and error
 * frames, every event of the call registry broadcast to every socket, and pings that keep idle sockets alive.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallEnvelope, CallRegistry } from '../api/calls';
import { AppError, toErrorEnvelope } from '../core/errors';
import { MAX_BODY, requestUrl, type TokenPlace, type Verdict } from './access';
import { guarded } from './guarded';
import { parseSocketMessage } from './messages';

export interface SocketOptions {
  calls: CallRegistry;
  authorize(req: IncomingMessage, url: URL, where: TokenPlace): Verdict;
  log(line: string): void;
}

export interface SocketBridge {
  /** The server's `'upgrade'` listener (guarded). */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Stops the pings and the events, ends every socket. */
  close(): void;
}

export function socketBridge(o: SocketOptions): SocketBridge {
  const { calls, log } = o;
  const sockets = new Set<WebSocket>();
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
    const auth = o.authorize(req, url, 'query');
    if (auth !== 'ok') return deny(auth === 401 ? 401 : 403, auth === 401 ? 'Unauthorized' : 'Forbidden');
    const origin = req.headers.origin;
    if (origin && req.headers.host && origin !== `http://${req.headers.host}`) return deny(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };

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

  return {
    upgrade: guarded(
      log,
      upgrade,
      ([req]) => `upgrade ${req.url}`,
      (_err, [, socket]) => {
        if (socket.writable) socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else socket.destroy();
      },
    ),
    close() {
      offEvents();
      clearInterval(pinger);
      for (const ws of sockets) ws.terminate();
      wss.close();
    },
  };
}

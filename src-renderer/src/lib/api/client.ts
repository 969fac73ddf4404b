/**
 * The page's client of the one contract (see DESIGN.md). Screens call `getApi()` and never care whether
 * they run in the Electron window or in a browser talking to `mixup-studio serve`.
 *
 *   const api = getApi();
 *   const list = await api.call('datasets:list');           // typed by the contract: DatasetListItem[]
 *   const job = api.start('datasets:index', { root });      // job.id tags its events; job.cancel() aborts it
 *   const off = api.on('index.progress', (p, callId) => { if (callId === job.id) ... });
 *   <img src={api.mediaUrl('thumb', imageId)}>
 *
 * Errors: a failed operation rejects with a real `AppError` rebuilt from the `{name, message, kind}`
 * envelope, so `err.message` is the sentence to show ("Class 'cat' is not in dataset 3") and `err.kind`
 * says what happened ('input', 'not-found', 'cancelled', ...).
 *
 * Wire protocol.
 * - Electron: `window.api` from the preload (src-main/api/bridge.ts describes its channels).
 *   Media: `mixup://app/media/<thumb|image>/<imageId>`, looked up by id in SQLite by the main process.
 * - Browser (`mixup-studio serve`): the server prints `http://127.0.0.1:PORT/?token=T`. The page reads the
 *   token from `?token=` once, keeps it in sessionStorage and removes it from the address bar.
 *   - `POST /api/call/<op>` with header `x-mixup-token: T`, optional `x-mixup-call-id: ID`, JSON body = the
 *     op's input → `{result}` or `{error: envelope}`. The call keeps running if the request is dropped.
 *   - `POST /api/cancel/<ID>` (same header) aborts that call → `{result: {cancelled}}`.
 *   - WebSocket `/api/ws?token=T`: the server sends every event as `{type: 'event', topic, data, callId}`.
 *     (It also accepts `{type: 'start', id, name, input}` → `{type: 'result', id, result}` |
 *     `{type: 'error', id, error}`, and `{type: 'cancel', id}`; this client uses HTTP for calls.)
 *   - `GET /media/<thumb|image>/<imageId>?token=T`.
 *   Assets and index.html need the token too: the server answers the tokened page with an HttpOnly,
 *   SameSite=Strict cookie that the browser then sends with the asset requests.
 */
import { AppError, fromErrorEnvelope, type ErrorEnvelope } from '../../../../src-main/api/envelope';
import type { BridgeApi, Envelope, EventMessage } from '../../../../src-main/api/bridge';
import type { EventMap, EventTopic, OpInputOf, OpName, OpResult } from '../../../../src-main/api/types';

export type MediaKind = 'thumb' | 'image';
export type EventHandler = (data: unknown, callId?: string) => void;
/** A handler of one topic's events, typed by the contract's EventMap. */
export type TopicHandler<T extends EventTopic> = (data: EventMap[T], callId?: string) => void;

export interface StartedCall<T> {
  /** Tags the call's events (the `callId` argument of `on` handlers). */
  id: string;
  result: Promise<T>;
  /** Asks the call to stop; `result` then rejects with an AppError of kind 'cancelled'. */
  cancel(): void;
}

/** An operation's input; optional when the operation takes none that is required. */
type InputArg<N extends OpName> = {} extends OpInputOf<N> ? [input?: OpInputOf<N>] : [input: OpInputOf<N>];

export interface ApiClient {
  /** Runs an operation of the contract (src-main/api/types.ts): its name, input and result are typed. */
  call<N extends OpName>(name: N, ...input: InputArg<N>): Promise<OpResult<N>>;
  start<N extends OpName>(name: N, ...input: InputArg<N>): StartedCall<OpResult<N>>;
  /** Subscribes to an event topic (`*` for all, untyped); returns the unsubscribe function. */
  on<T extends EventTopic>(topic: T, handler: TopicHandler<T>): () => void;
  on(topic: '*', handler: EventHandler): () => void;
  mediaUrl(kind: MediaKind, imageId: number): string;
  /** The native folder dialog in Electron; `null` when cancelled, and always `null` in a browser. */
  pickFolder(): Promise<string | null>;
  readonly kind: 'electron' | 'browser';
}

export const TOKEN_HEADER = 'x-mixup-token';
export const CALL_ID_HEADER = 'x-mixup-call-id';
const TOKEN_KEY = 'mixup-studio.token';

let counter = 0;
/** A call id unique within this page (random part from crypto, a counter for order). */
export function newCallId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  counter += 1;
  return `${counter.toString(36)}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function unwrap<T>(env: Envelope): T {
  if (env && typeof env === 'object' && env.error) throw fromErrorEnvelope(env.error);
  return (env as { result: T }).result;
}

/** Topic → handlers, with `*` receiving every topic. Shared by both transports. */
class EventHub {
  private readonly handlers = new Map<string, Set<EventHandler>>();

  add(topic: string, handler: EventHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(topic) === set) this.handlers.delete(topic);
    };
  }

  dispatch(msg: EventMessage): void {
    for (const key of [msg.topic, '*']) {
      for (const h of [...(this.handlers.get(key) ?? [])]) {
        try {
          h(msg.data, msg.callId);
        } catch (err) {
          console.error(`event handler for ${msg.topic} failed`, err);
        }
      }
    }
  }
}

/** The Electron transport over the preload's `window.api`. */
export function createElectronClient(bridge: BridgeApi): ApiClient {
  const start = <T>(name: string, input?: unknown): StartedCall<T> => {
    const id = newCallId();
    const result = bridge.invoke(name, input ?? {}, id).then((env) => unwrap<T>(env));
    return {
      id,
      result,
      cancel() {
        void bridge.cancel(id).catch(() => undefined);
      },
    };
  };
  return {
    kind: 'electron',
    call: <T>(name: string, input?: unknown) => start<T>(name, input).result,
    start,
    on: (topic: string, handler: EventHandler) => bridge.on(topic, handler),
    mediaUrl: (kind, imageId) => `mixup://app/media/${kind}/${Math.trunc(imageId)}`,
    pickFolder: async () => unwrap<string | null>(await bridge.pickFolder()),
  };
}

export interface BrowserClientOptions {
  /** Origin of the serve bridge, e.g. `http://127.0.0.1:5050` (no trailing slash). */
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  WebSocket?: new (url: string) => WebSocket;
  /** Delay before reconnecting a dropped event socket (ms). */
  reconnectMs?: number;
}

/** The browser transport: HTTP for calls, one WebSocket for events, the token on every request. */
export function createBrowserClient(opts: BrowserClientOptions): ApiClient & { close(): void } {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const WS = opts.WebSocket ?? globalThis.WebSocket;
  const hub = new EventHub();
  const base = opts.baseUrl.replace(/\/$/, '');
  const wsUrl = `${base.replace(/^http/, 'ws')}/api/ws?token=${encodeURIComponent(opts.token)}`;
  let socket: WebSocket | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let opened: Promise<void> = Promise.resolve();

  // One event socket for the page's lifetime, opened on first use and reopened when it drops.
  const connect = () => {
    if (closed || socket) return;
    const ws = new WS(wsUrl);
    socket = ws;
    opened = new Promise<void>((resolve) => {
      ws.onopen = () => resolve();
      setTimeout(resolve, 1500); // never hold a call back for long when the socket cannot open
    });
    ws.onmessage = (ev: MessageEvent) => {
      let msg: { type?: string } & Partial<EventMessage>;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === 'event' && typeof msg.topic === 'string') {
        hub.dispatch({ topic: msg.topic, data: msg.data, callId: msg.callId ?? undefined });
      }
    };
    ws.onclose = () => {
      if (socket === ws) socket = undefined;
      if (!closed) retry = setTimeout(connect, opts.reconnectMs ?? 1000);
    };
    ws.onerror = () => {
      /* onclose follows and reconnects */
    };
  };

  const post = async <T>(path: string, body: unknown, callId?: string): Promise<T> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', [TOKEN_HEADER]: opts.token };
    if (callId) headers[CALL_ID_HEADER] = callId;
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
    } catch (err) {
      throw new AppError('io', `cannot reach MixUp Studio at ${base}: ${(err as Error).message}`);
    }
    if (res.status === 401 || res.status === 403) {
      throw new AppError('input', 'this page has no valid session token: open the address printed by `mixup-studio serve`');
    }
    let env: Envelope<T>;
    try {
      env = (await res.json()) as Envelope<T>;
    } catch {
      throw new AppError('internal', `MixUp Studio answered ${res.status} ${res.statusText} without a JSON body`);
    }
    return unwrap<T>(env as Envelope);
  };

  const start = <T>(name: string, input?: unknown): StartedCall<T> => {
    const id = newCallId();
    connect();
    // The call goes out once the event socket is open, so that handlers the caller adds right after
    // `start()` see the call's first progress events.
    return {
      id,
      result: opened.then(() => post<T>(`/api/call/${encodeURIComponent(name)}`, input ?? {}, id)),
      cancel() {
        void post(`/api/cancel/${encodeURIComponent(id)}`, {}).catch(() => undefined);
      },
    };
  };

  return {
    kind: 'browser',
    call: <T>(name: string, input?: unknown) => start<T>(name, input).result,
    start,
    on(topic: string, handler: EventHandler) {
      const off = hub.add(topic, handler);
      connect();
      return off;
    },
    mediaUrl: (kind, imageId) => `${base}/media/${kind}/${Math.trunc(imageId)}?token=${encodeURIComponent(opts.token)}`,
    pickFolder: async () => null,
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      socket?.close();
      socket = undefined;
    },
  };
}

/**
 * The token of a served page: taken from `?token=` once (then removed from the address bar so it is not
 * bookmarked or shared by accident) and kept in sessionStorage for reloads.
 */
export function takePageToken(loc: Location = window.location, store: Storage = window.sessionStorage): string | null {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    store.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
    return fromUrl;
  }
  return store.getItem(TOKEN_KEY);
}

let instance: ApiClient | undefined;

/** The page's one client: the preload bridge in Electron, the serve bridge in a browser. */
export function getApi(): ApiClient {
  if (instance) return instance;
  const bridge = (window as unknown as { api?: BridgeApi }).api;
  if (bridge && typeof bridge.invoke === 'function') {
    instance = createElectronClient(bridge);
  } else {
    const token = takePageToken();
    if (!token) {
      throw new AppError('input', 'this page has no session token: open the address printed by `mixup-studio serve`');
    }
    instance = createBrowserClient({ baseUrl: window.location.origin, token });
  }
  return instance;
}

export type { ErrorEnvelope };
export { AppError };

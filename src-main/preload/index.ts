/**
 * Preload of the sandboxed page: exposes `window.api` (BridgeApi in ../api/bridge.ts) and nothing else. The
 * page never sees `ipcRenderer`: it can invoke only contract operation names (`feature:verb`), cancel its
 * own calls, listen to events and open the folder dialog. Bundled by electron-vite as CommonJS, as a
 * sandboxed preload must be (it may `require('electron')` and nothing from disk).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { CHANNEL_CANCEL, CHANNEL_EVENT, CHANNEL_PICK_FOLDER, OPERATION_NAME, type BridgeApi, type Envelope, type EventMessage } from '../api/bridge';

type Handler = (data: unknown, callId?: string) => void;
const handlers = new Map<string, Set<Handler>>();
let listening = false;

function dispatch(_event: IpcRendererEvent, msg: EventMessage): void {
  if (!msg || typeof msg.topic !== 'string') return;
  for (const key of [msg.topic, '*']) {
    for (const h of [...(handlers.get(key) ?? [])]) {
      try {
        h(msg.data, msg.callId);
      } catch (err) {
        console.error(`MixUp Studio: handler for ${msg.topic} failed`, err);
      }
    }
  }
}

function refuse(message: string): Promise<Envelope> {
  return Promise.resolve({ error: { name: 'AppError', kind: 'input', message } });
}

const api: BridgeApi = {
  invoke(name, input, callId) {
    if (typeof name !== 'string' || !OPERATION_NAME.test(name) || name.startsWith('app:')) {
      return refuse(`'${String(name)}' is not an operation name`);
    }
    return ipcRenderer.invoke(name, { input: input ?? {}, callId: typeof callId === 'string' ? callId : undefined });
  },
  cancel(callId) {
    return ipcRenderer.invoke(CHANNEL_CANCEL, String(callId));
  },
  on(topic, handler) {
    if (typeof topic !== 'string' || typeof handler !== 'function') throw new TypeError('on(topic: string, handler: function)');
    if (!listening) {
      ipcRenderer.on(CHANNEL_EVENT, dispatch);
      listening = true;
    }
    let set = handlers.get(topic);
    if (!set) handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) handlers.delete(topic);
    };
  },
  pickFolder() {
    return ipcRenderer.invoke(CHANNEL_PICK_FOLDER);
  },
};

contextBridge.exposeInMainWorld('api', api);

/**
 * IPC: every operation of the contract is registered once under its own name; the page reaches them only
 * through the preload (src-main/api/bridge.ts describes the channels). Each request is checked to come
 * from our page's main frame, the input is validated by the operation's schema (invokeOperation), and the
 * answer is always an envelope `{result}` | `{error: {name, message, kind}}`, never a thrown error.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import type { Operation } from '../api/contract';
import { AppError, toErrorEnvelope, type ErrorEnvelope } from '../core/errors';
import { CHANNEL_CANCEL, CHANNEL_EVENT, CHANNEL_PICK_FOLDER, type Envelope, type EventMessage } from '../api/bridge';
import type { CallRegistry } from '../api/calls';

export interface IpcDeps {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  operations: ReadonlyMap<string, Operation>;
  calls: CallRegistry;
  /** True when the request comes from our page (see `isTrustedFrameUrl`). */
  isTrustedSender(event: IpcMainInvokeEvent): boolean;
  pickFolder(event: IpcMainInvokeEvent): Promise<string | null>;
}

/** Frame URL check: our scheme's app host, or the dev server electron-vite started (dev only). */
export function isTrustedFrameUrl(frameUrl: string | undefined, trustedOrigins: readonly string[]): boolean {
  if (!frameUrl) return false;
  let origin: string;
  try {
    const u = new URL(frameUrl);
    origin = u.protocol === 'mixup:' ? `mixup://${u.host}` : u.origin;
  } catch {
    return false;
  }
  return trustedOrigins.includes(origin);
}

/** The frame must be the top frame of its page (no iframe, even of our own origin, gets the API). */
export function senderFrameUrl(event: IpcMainInvokeEvent): string | undefined {
  const frame = event.senderFrame;
  if (!frame) return undefined;
  if (frame.parent) return undefined;
  return frame.url;
}

function refused(channel: string): Envelope {
  const env: ErrorEnvelope = toErrorEnvelope(new AppError('input', `${channel}: refused a request that did not come from the MixUp Studio page`));
  return { error: env };
}

function unpack(payload: unknown): { input: unknown; callId?: string } {
  if (payload && typeof payload === 'object' && 'input' in payload) {
    const p = payload as { input: unknown; callId?: unknown };
    return { input: p.input, callId: typeof p.callId === 'string' ? p.callId : undefined };
  }
  return { input: payload ?? {} };
}

/** Registers the handlers; returns the function that removes them all again. */
export function registerIpc(deps: IpcDeps): () => void {
  const channels: string[] = [];
  const handle = (channel: string, fn: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<Envelope>) => {
    deps.ipcMain.handle(channel, async (event, ...args) => {
      if (!deps.isTrustedSender(event)) return refused(channel);
      try {
        return await fn(event, ...args);
      } catch (err) {
        return { error: toErrorEnvelope(err) };
      }
    });
    channels.push(channel);
  };
  for (const op of deps.operations.values()) {
    handle(op.name, async (_event, payload) => {
      const { input, callId } = unpack(payload);
      return (await deps.calls.run(op.name, input, callId)) as Envelope;
    });
  }
  handle(CHANNEL_CANCEL, async (_event, callId) => ({ result: { cancelled: typeof callId === 'string' && deps.calls.cancel(callId) } }));
  handle(CHANNEL_PICK_FOLDER, async (event) => ({ result: await deps.pickFolder(event) }));
  return () => {
    for (const c of channels) deps.ipcMain.removeHandler(c);
  };
}

export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, message: EventMessage): void;
  getURL(): string;
}

/** Pushes every call event to the pages that may see it; returns the unsubscribe function. */
export function forwardEvents(calls: CallRegistry, targets: () => EventTarget[], trustedOrigins: () => readonly string[]): () => void {
  return calls.onEvent((ev) => {
    for (const wc of targets()) {
      if (wc.isDestroyed() || !isTrustedFrameUrl(wc.getURL(), trustedOrigins())) continue;
      try {
        wc.send(CHANNEL_EVENT, { topic: ev.topic, data: ev.data, callId: ev.callId });
      } catch {
        /* data that cannot be cloned is dropped rather than breaking the operation */
      }
    }
  });
}

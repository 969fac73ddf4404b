/**
 * What the preload exposes to the page as `window.api`, and the IPC channel names it uses. Types and
 * constants only (no `electron` import), so the main process, the preload and the page all share them.
 *
 * Wire protocol over Electron IPC:
 * - An operation of the contract is invoked on the channel named after it (`datasets:list`) with one
 *   argument `{input, callId?}`; the main process answers `{result}` or `{error: {name, message, kind}}`
 *   (it never throws, so Electron's "Error invoking remote method" never reaches the page).
 * - `app:cancel` (invoke, argument: callId) aborts that call's AbortSignal; answers `{result: {cancelled}}`.
 * - `app:pickFolder` (invoke) opens the native folder dialog; answers `{result: string | null}`.
 * - `app:event` (main → page) carries every event `{topic, data, callId}` emitted by a running operation.
 */
import type { ErrorEnvelope } from '../core/errors';

export type Envelope<T = unknown> = { result: T; error?: undefined } | { error: ErrorEnvelope; result?: undefined };

export interface EventMessage {
  topic: string;
  data: unknown;
  /** The call that emitted it (absent for events not tied to a call). */
  callId?: string;
}

export const CHANNEL_CANCEL = 'app:cancel';
export const CHANNEL_PICK_FOLDER = 'app:pickFolder';
export const CHANNEL_EVENT = 'app:event';

/** Operation names the page may invoke: `feature:verb` (the contract's naming rule). */
export const OPERATION_NAME = /^[a-z][a-z0-9-]*:[a-zA-Z][a-zA-Z0-9-]*$/;

/** `window.api` in the Electron page. */
export interface BridgeApi {
  /** Runs an operation; `callId` (chosen by the page) tags its events and lets `cancel` reach it. */
  invoke(name: string, input?: unknown, callId?: string): Promise<Envelope>;
  cancel(callId: string): Promise<Envelope<{ cancelled: boolean }>>;
  /** Subscribes to an event topic (`*` for every topic); returns the unsubscribe function. */
  on(topic: string, handler: (data: unknown, callId?: string) => void): () => void;
  pickFolder(): Promise<Envelope<string | null>>;
}

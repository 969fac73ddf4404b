/**
 * Running calls of the contract for a long-lived front end (the `serve` bridge and the Electron main
 * process): each call gets an id and its own AbortController, its events are broadcast tagged with that id,
 * and it settles exactly once as an envelope `{result}` | `{error}` (never a thrown error).
 */
import { invokeOperation, type Operation } from './contract';
import { AppError, cancelled, toErrorEnvelope, type ErrorEnvelope } from '../core/errors';
import type { Services } from '../core/services';
import type { TrainingTransport } from '../training/host';

/** What a call id may be (the caller's own, or one made here). */
export const CALL_ID = /^[\w.-]{1,100}$/;

export type CallEnvelope<T = unknown> = { result: T } | { error: ErrorEnvelope };

export interface CallEvent {
  topic: string;
  data: unknown;
  callId: string;
}

export interface RunningCall {
  id: string;
  name: string;
  startedAt: number;
}

export class CallRegistry {
  private readonly running = new Map<string, RunningCall & { controller: AbortController; done: Promise<unknown> }>();
  private readonly listeners = new Set<(ev: CallEvent) => void>();
  private counter = 0;

  constructor(
    private readonly ops: ReadonlyMap<string, Operation>,
    private readonly services: () => Services,
    /** The core's training transport (api/core.ts), handed to every call. */
    private readonly trainingTransport?: () => TrainingTransport,
  ) {}

  /** Every event of every call; returns the unsubscribe function. */
  onEvent(listener: (ev: CallEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `name` with `input`. `callId` is the caller's id, which its events and its answer carry (a fresh one is
   * made when absent); one that is not an id, or is already a running call's, is refused, not replaced: the
   * caller could not tell the two calls' answers apart.
   */
  async run(name: string, input: unknown, callId?: string): Promise<CallEnvelope> {
    if (callId !== undefined && !CALL_ID.test(callId)) {
      return { error: toErrorEnvelope(new AppError('input', `call id: use 1 to 100 letters, digits, '_', '.' or '-'`)) };
    }
    if (callId !== undefined && this.running.has(callId)) {
      return { error: toErrorEnvelope(new AppError('conflict', `call id '${callId}' is a running call's (${this.running.get(callId)!.name}): give each call its own id`)) };
    }
    const id = callId ?? this.nextId();
    const controller = new AbortController();
    const entry = { id, name, startedAt: Date.now(), controller, done: Promise.resolve() as Promise<unknown> };
    const work = (async (): Promise<CallEnvelope> => {
      try {
        const result = await invokeOperation(this.ops, name, input, {
          services: this.services(),
          signal: controller.signal,
          trainingTransport: this.trainingTransport,
          emit: (topic, data) => this.broadcast({ topic, data, callId: id }),
        });
        return { result: result === undefined ? null : result };
      } catch (err) {
        return { error: toErrorEnvelope(err) };
      } finally {
        this.running.delete(id);
      }
    })();
    entry.done = work;
    this.running.set(id, entry);
    return work;
  }

  /** Aborts one call; false when no call has that id (already finished, or never started). */
  cancel(callId: string): boolean {
    const entry = this.running.get(callId);
    if (!entry) return false;
    entry.controller.abort(cancelled(entry.name));
    return true;
  }

  list(): RunningCall[] {
    return [...this.running.values()].map(({ id, name, startedAt }) => ({ id, name, startedAt }));
  }

  /** Calls still running whose name matches (e.g. long jobs: `runs:train`, `datasets:index`). */
  busy(filter: (c: RunningCall) => boolean = () => true): RunningCall[] {
    return this.list().filter(filter);
  }

  /** Cancels every call and waits (at most `timeoutMs`) for them to settle; true when all settled. */
  async shutdown(timeoutMs = 10_000): Promise<boolean> {
    const pending = [...this.running.values()];
    for (const e of pending) e.controller.abort(cancelled(e.name));
    if (pending.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const all = Promise.allSettled(pending.map((e) => e.done)).then(() => true);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private nextId(): string {
    this.counter += 1;
    return `c${this.counter}-${Date.now().toString(36)}`;
  }

  private broadcast(ev: CallEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch {
        /* a broken listener must not break the operation that emitted */
      }
    }
  }
}

/** Long jobs whose cancellation loses work (asked about before quitting). */
export const LONG_JOBS = new Set(['runs:train', 'datasets:index', 'datasets:verify', 'mixup:preview', 'bench:train', 'runs:export', 'datasets:export', 'embeddings:compute', 'curation:run', 'sweeps:run', 'sweeps:resume', 'sweeps:train-best']);

export function isLongJob(c: RunningCall): boolean {
  return LONG_JOBS.has(c.name);
}

/**
 * The one contract: every operation the UI can ask for is declared once here (name, input schema,
 * implementation) and served three ways: Electron IPC, the loopback `serve` bridge, and the CLI.
 */
import type { z } from 'zod';
import type { Services } from '../core/services';
import { AppError, describeIssues } from '../core/errors';
import type { TrainingTransport } from '../training/host';
import type { EventMap, EventTopic } from './events';

export interface OpContext {
  services: Services;
  /** Progress and status events, pushed to whoever called (CLI progress bar, IPC, WebSocket). */
  emit<T extends EventTopic>(topic: T, data: EventMap[T]): void;
  /** Fires when the caller cancels (Ctrl+C in the CLI, a cancel request from the UI). */
  signal: AbortSignal;
  /** The process a training run gets, from the process's core (api/core.ts); absent = a forked Node child. */
  trainingTransport?: () => TrainingTransport;
}

export interface Operation<I = any, O = any> {
  /** `feature:verb`, e.g. `datasets:index`. Also the IPC channel name. */
  name: string;
  summary: string;
  input: z.ZodType<I>;
  run(ctx: OpContext, input: I): Promise<O> | O;
}

/** An operation as declared: its name a literal and its schema kept, so api/types.ts can derive the contract. */
export type DefinedOp<N extends string, S extends z.ZodType, O> = Operation<z.output<S>, O> & { readonly name: N; readonly input: S };

export function defineOp<N extends string, S extends z.ZodType, O>(op: {
  name: N;
  summary: string;
  input: S;
  run(ctx: OpContext, input: z.output<S>): Promise<O> | O;
}): DefinedOp<N, S, O> {
  return op as DefinedOp<N, S, O>;
}

export type OpInput<T> = T extends Operation<infer I, any> ? I : never;
export type OpOutput<T> = T extends Operation<any, infer O> ? Awaited<O> : never;

/** Validates raw input against the operation's schema; the error names each field at fault. */
export function parseOpInput<I>(op: Operation<I, unknown>, raw: unknown): I {
  const res = op.input.safeParse(raw ?? {});
  if (!res.success) {
    throw new AppError('input', `${op.name}: ${describeIssues(res.error.issues)}`);
  }
  return res.data;
}

/** Runs one operation with validated input; the single dispatch path of every front end. */
export async function invokeOperation(
  ops: ReadonlyMap<string, Operation>,
  name: string,
  raw: unknown,
  ctx: OpContext,
): Promise<unknown> {
  const op = ops.get(name);
  if (!op) throw new AppError('not-found', `unknown operation '${name}'`);
  const input = parseOpInput(op, raw);
  return await op.run(ctx, input);
}

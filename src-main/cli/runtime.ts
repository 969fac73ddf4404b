import type { Command } from 'commander';
import { invokeOperation } from '../api/contract';
import type { EventTopic, OpInputOf, OpName, OpResult } from '../api/types';
import { AppError, cancelled, toErrorEnvelope } from '../core/errors';
import { defaultHome } from '../core/home';
import { createCore, type Core, type MediaResolver } from '../api/core';
import { ProgressBar, type ProgressData } from './progress';

export interface InvokeOptions {
  /** Event topic(s) whose `{done, total, label}` payloads draw the stderr progress bar. */
  progress?: EventTopic | EventTopic[];
  /** Sees every event (after the bar); for commands that print more than a bar. */
  onEvent?(topic: string, data: unknown): void;
  /** Cancels the call too when it fires (beside Ctrl+C), e.g. on SIGTERM for a command that must stop cleanly. */
  signal?: AbortSignal;
}

export interface CliRuntime {
  /** Runs one operation from the contract against the selected home (name, input and result typed by api/types.ts). */
  invoke<N extends OpName>(opName: N, input: OpInputOf<N>, opts?: InvokeOptions): Promise<OpResult<N>>;
  /** Prints the result: one JSON document with --json, else the human text. */
  output<T>(result: T, human: (r: T) => string): void;
  /** A note for the user on stderr (never on stdout, which --json keeps for the document). */
  warn(message: string): void;
  readonly json: boolean;
  readonly home: string;
  /** This process's core (api/core.ts) over the chosen home: composed on first use, closed by dispose(). */
  core(): Promise<Core>;
}

export function createRuntime(program: Command): CliRuntime & { dispose(): void } {
  let core: Core | undefined;
  const globals = () => program.opts<{ home?: string; json?: boolean }>();
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ncancelling… (press Ctrl+C again to quit at once)\n');
    controller.abort(cancelled());
  };
  process.on('SIGINT', onSigint);

  const runtime: CliRuntime & { dispose(): void } = {
    get json() {
      return Boolean(globals().json);
    },
    get home() {
      return globals().home ?? defaultHome();
    },
    async core() {
      if (!core) {
        const { operations } = await import('../api/operations');
        // Media (sharp) load on the first image asked for (`serve`), not with every command.
        const resolveMedia: MediaResolver = async (s, kind, id) => (await import('../datasets/media')).resolveMedia(s, kind, id);
        core ??= createCore({ home: runtime.home, operations, resolveMedia });
      }
      return core;
    },
    async invoke<N extends OpName>(opName: N, input: OpInputOf<N>, opts: InvokeOptions = {}): Promise<OpResult<N>> {
      const { services, operations, trainingTransport } = await runtime.core();
      const topics = new Set<string>(opts.progress === undefined ? [] : [opts.progress].flat());
      const bar = topics.size > 0 ? new ProgressBar(process.stderr) : undefined;
      try {
        return (await invokeOperation(operations, opName, input, {
          services,
          trainingTransport,
          signal: opts.signal ? AbortSignal.any([controller.signal, opts.signal]) : controller.signal,
          emit(topic, data) {
            if (bar && topics.has(topic)) bar.update(data as ProgressData);
            opts.onEvent?.(topic, data);
          },
        })) as OpResult<N>;
      } finally {
        bar?.finish();
      }
    },
    output(result, human) {
      if (runtime.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        const text = human(result);
        if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
    },
    warn(message) {
      process.stderr.write(`mixup-studio: ${message}\n`);
    },
    dispose() {
      process.off('SIGINT', onSigint);
      core?.close();
      core = undefined;
    },
  };
  return runtime;
}

/** Maps an error to the exit status and the one stderr line CLI.md asks for. */
export function reportCliError(err: unknown): number {
  const env = toErrorEnvelope(err);
  const line = env.message.replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`mixup-studio: ${env.kind === 'internal' ? `${env.name}: ` : ''}${line}\n`);
  if (env.kind === 'internal' && process.env.MIXUP_STUDIO_DEBUG && err instanceof Error) {
    process.stderr.write(`${err.stack}\n`);
  }
  if (env.kind === 'cancelled') return 130;
  if (env.kind === 'input') return 2;
  return 1;
}

export function usageError(message: string): AppError {
  return new AppError('input', message);
}

/** A number flag's value, checked: a usage error naming the flag when it is not a (whole) number within bounds. */
export function numberFlag(flag: string, v: string, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n))) throw usageError(`${flag}: expected ${opts.int ? 'a whole number' : 'a number'}, got '${v}'`);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw usageError(`${flag}: must be ${opts.min !== undefined ? `≥ ${opts.min}` : ''}${opts.min !== undefined && opts.max !== undefined ? ' and ' : ''}${opts.max !== undefined ? `≤ ${opts.max}` : ''}, got ${v}`);
  }
  return n;
}

/**
 * SIGTERM (a service manager, `kill`) cancels a long command like Ctrl+C: `signal` aborts, the work stops at its
 * next batch and stays resumable; `done()` removes the handler. A second SIGTERM is not caught: the process dies.
 */
export function cancelOnSigterm(cli: CliRuntime, message: string): { signal: AbortSignal; done(): void } {
  const terminated = new AbortController();
  const onTerm = () => {
    cli.warn(message);
    terminated.abort(cancelled());
  };
  process.once('SIGTERM', onTerm);
  return { signal: terminated.signal, done: () => process.off('SIGTERM', onTerm) };
}

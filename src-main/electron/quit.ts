/**
 * Quitting (or closing the window) while a long job runs asks what to do with it, and the database is
 * closed only after every call has settled, so a quit never leaves a half-written transaction or a run
 * stuck as "running".
 */
import type { MessageBoxOptions } from 'electron';
import type { CallRegistry, RunningCall } from '../api/calls';
import { isLongJob } from '../api/calls';

export type QuitChoice = 'keep' | 'stop' | 'wait';

/** The dialog's buttons, in order: index 0 is the safe default (Escape, closing the dialog). */
export const QUIT_BUTTONS: ReadonlyArray<{ label: string; choice: QuitChoice }> = [
  { label: 'Keep running', choice: 'keep' },
  { label: 'Stop the job and quit', choice: 'stop' },
  { label: 'Quit when it finishes', choice: 'wait' },
];

const JOB_WORDS: Record<string, string> = {
  'runs:train': 'a training run',
  'datasets:index': 'indexing a dataset',
  'datasets:verify': 'verifying a dataset',
  'mixup:preview': 'a MixUp preview',
  'bench:train': 'a training benchmark',
  'runs:export': 'an export',
  'datasets:export': 'a dataset export',
};

export function quitDialog(jobs: RunningCall[]): MessageBoxOptions {
  const names = [...new Set(jobs.map((j) => JOB_WORDS[j.name] ?? j.name))];
  return {
    type: 'question',
    title: 'MixUp Studio',
    message: jobs.length === 1 ? `MixUp Studio is still busy with ${names[0]}.` : `MixUp Studio is still busy with ${jobs.length} jobs (${names.join(', ')}).`,
    detail:
      'Stopping a training run keeps its last checkpoint: it is marked interrupted/cancelled and can be resumed. ' +
      'Nothing is lost from the database either way.',
    buttons: QUIT_BUTTONS.map((b) => b.label),
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  };
}

export interface QuitDeps {
  calls: CallRegistry;
  /** Shows the question; resolves to the index of the button pressed. */
  ask(options: MessageBoxOptions): Promise<number>;
  /** Hides the windows while waiting for a job to finish ("Quit when it finishes"). */
  hideWindows(): void;
  /** Closes the services (the database) once nothing runs any more. */
  closeServices(): void;
  /** Really quits (called once, after the services are closed). */
  exit(): void;
  /** How often to look whether the jobs have finished, in "wait" mode. */
  pollMs?: number;
  /** How long stopping jobs may take before the database is closed anyway. */
  stopTimeoutMs?: number;
}

/**
 * Decides about one quit request. Returns 'keep' when the user keeps working (the caller must then not
 * quit), or 'quit' once jobs are stopped/finished, the services closed and `exit` called.
 */
export class QuitController {
  private finished = false;
  private pending: Promise<'keep' | 'quit'> | undefined;

  constructor(private readonly deps: QuitDeps) {}

  /** True once `exit` has been called: later quit events must go through. */
  get done(): boolean {
    return this.finished;
  }

  request(): Promise<'keep' | 'quit'> {
    if (this.finished) return Promise.resolve('quit');
    this.pending ??= this.decide().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async decide(): Promise<'keep' | 'quit'> {
    const jobs = this.deps.calls.busy(isLongJob);
    if (jobs.length > 0) {
      const index = await this.deps.ask(quitDialog(jobs));
      const choice = QUIT_BUTTONS[index]?.choice ?? 'keep';
      if (choice === 'keep') return 'keep';
      if (choice === 'wait') {
        this.deps.hideWindows();
        while (this.deps.calls.busy(isLongJob).length > 0) {
          await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 1000));
        }
      }
    }
    // Whatever still runs (short calls, or the jobs the user chose to stop) is cancelled and awaited.
    await this.deps.calls.shutdown(this.deps.stopTimeoutMs ?? 15_000);
    this.deps.closeServices();
    this.finished = true;
    this.deps.exit();
    return 'quit';
  }
}

/**
 * The shell's state: which screen is shown, which dataset the screens work on, and the error toasts.
 * One instance (`app`) shared by every screen.
 */
import { getApi, type ApiClient } from '../api/client';

export type Screen = 'datasets' | 'curate' | 'policy' | 'backbones' | 'train' | 'sweeps' | 'runs' | 'export';

export const SCREENS: { id: Screen; label: string; hint: string }[] = [
  { id: 'datasets', label: 'Datasets', hint: 'Index folders, look at classes' },
  { id: 'curate', label: 'Curate', hint: 'Wrong labels, duplicates, pairs' },
  { id: 'policy', label: 'Pair policy', hint: 'Which classes may be blended' },
  { id: 'backbones', label: 'Backbones', hint: 'Pretrained models, embeddings' },
  { id: 'train', label: 'Train', hint: 'Config, schedule, run monitor' },
  { id: 'sweeps', label: 'Sweeps', hint: 'Tune α, the schedule, the lr' },
  { id: 'runs', label: 'Runs & compare', hint: 'Metrics side by side' },
  { id: 'export', label: 'Export', hint: 'tfjs / ONNX model bundle' },
];

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  title: string;
  message: string;
}

let toastSeq = 0;

export class AppState {
  screen = $state<Screen>('datasets');
  /** The dataset the policy / train screens work on. */
  datasetId = $state<number | null>(null);
  /** The run picked on the runs screen (for export). */
  runId = $state<number | null>(null);
  toasts = $state<Toast[]>([]);
  #api: ApiClient | null = null;

  get api(): ApiClient {
    if (!this.#api) this.#api = getApi();
    return this.#api;
  }

  go(screen: Screen): void {
    this.screen = screen;
  }

  /** Shows an error's message (the envelope's sentence); a cancellation is not an error. */
  error(err: unknown, title = 'Something went wrong'): void {
    const kind = (err as { kind?: string } | null)?.kind;
    if (kind === 'cancelled') {
      this.info('Cancelled', err instanceof Error ? err.message : String(err));
      return;
    }
    const message = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
    this.push({ kind: 'error', title, message });
  }

  info(title: string, message: string): void {
    this.push({ kind: 'info', title, message });
  }

  private push(t: Omit<Toast, 'id'>): void {
    const toast = { ...t, id: ++toastSeq };
    this.toasts = [...this.toasts.slice(-4), toast];
    setTimeout(() => this.dismiss(toast.id), t.kind === 'error' ? 12_000 : 5_000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /** Runs an operation, showing its error as a toast; resolves to undefined on failure. */
  async attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.error(err, what);
      return undefined;
    }
  }
}

export const app = new AppState();

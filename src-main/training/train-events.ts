/**
 * The events a training run emits, topic → payload. The worker sends them to the process that started it,
 * which passes them on to its caller (the CLI's progress bar, the page over IPC or the WebSocket); the
 * contract's `EventMap` (api/events.ts) includes them.
 */
import type { EpochRow, RunStatus } from './runs-repository';

/** A run's status as it changes: `starting` before the worker runs; `interrupted` when the worker died. */
export interface RunStatusEvent {
  runId: number;
  status: RunStatus | 'starting';
  /** The training process, once `running`. */
  pid?: number;
  /** Why a run `failed`. */
  error?: string;
  /** How a dead worker exited (`interrupted`). */
  exitCode?: number | null;
  signal?: string | null;
}

/** Progress of a run: decoding the images (or embedding them with a backbone), then training batch by batch. */
export type TrainProgressEvent =
  | { runId: number; phase: 'decode' | 'embed'; done: number; total: number; label: string }
  | {
      runId: number;
      phase: 'train';
      done: number;
      total: number;
      label: string;
      epoch: number;
      batch: number;
      batches: number;
      etaSeconds: number;
      trainLoss: number;
    };

export interface TrainEventMap {
  'run.status': RunStatusEvent;
  'train.progress': TrainProgressEvent;
  /** One finished epoch, as stored (without the per-class figures). */
  'train.epoch': { runId: number } & Omit<EpochRow, 'perClassAccuracy' | 'confusion'>;
  /** Something the user should know that does not stop the run; `runId` absent before the run exists. */
  'train.warning': { runId?: number; message: string };
  /** What the run trains on after decoding: usable images, how many were decoded, what was left out and why. */
  'train.data': { runId: number; images: number; decoded: number; corrupt: number; vanished: number; unreadable: number };
  'train.engine': { runId: number; backend: string; device: string | null };
  /** A run on a frozen backbone: its embeddings, how many computed now and how many came from the store. */
  'train.embeddings': { runId: number; backbone: string; computed: number; cached: number; dim: number; seconds: number };
}

export type TrainTopic = keyof TrainEventMap;

/** A typed emitter of the run's events. */
export type EmitTrainEvent = <T extends TrainTopic>(topic: T, data: TrainEventMap[T]) => void;

/** What a run's process reports to, and asks whether to stop. */
export interface TrainEvents {
  emit: EmitTrainEvent;
  /** True once the caller asked to cancel; checked before every batch. */
  cancelled(): boolean;
  /**
   * Asked after each epoch named in the job's `gateEpochs` (a sweep's early-stopping rungs) once the epoch is
   * stored: false stops the run there (it ends `cancelled`, "stopped early", with exactly those epochs).
   */
  gate?(epochsDone: number): Promise<boolean>;
}

/**
 * Every event topic an operation emits, with its payload. Events carry the `callId` of the call that emitted
 * them; the page subscribes by topic (`api.on('train.progress', …)`), the CLI draws them as progress bars.
 */
import type { TrainEventMap } from '../training/train-events';

/** Progress of a long step: `done` of `total` (0 while the total is still unknown), and what it is doing. */
export interface ProgressEvent {
  done: number;
  total: number;
  label: string;
}

export interface EventMap extends TrainEventMap {
  'index.progress': ProgressEvent;
  'verify.progress': ProgressEvent;
  'preview.progress': ProgressEvent;
  'export.progress': ProgressEvent;
  'embed.progress': ProgressEvent;
  /** `label` is the phase: embed, folds, neighbours, duplicates, outliers, pairs, map. */
  'curate.progress': ProgressEvent;
  /** A sweep's trials: `done` of `total` finished (completed, stopped early or failed). */
  'sweep.progress': ProgressEvent & { sweepId: number };
  /** A trial started or ended (`status` as the sweep document has it). */
  'sweep.trial': { sweepId: number; index: number; runId: number | null; params: Record<string, unknown>; status: string };
}

export type EventTopic = keyof EventMap;

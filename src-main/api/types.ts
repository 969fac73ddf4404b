/**
 * The contract as types, derived from the operations table: the name, input and result of every operation
 * (`OpMap`), the payload of every event topic (`EventMap`), and the records the screens read. Type-only: the
 * renderer imports it with `import type`, so its bundle takes nothing from the Node side, and a result shape an
 * operation changes is a type error on the screen that reads it (Podman Desktop's ipc-invoke channel map).
 */
import type { z } from 'zod';
import type { DeclaredOperation } from './operations';

/** Every operation name: `feature:verb`. */
export type OpName = DeclaredOperation['name'];
type OpNamed<N extends OpName> = Extract<DeclaredOperation, { name: N }>;

/** Per operation: what a caller sends (the schema's input, defaults optional) and what it answers. */
export type OpMap = {
  [N in OpName]: { input: z.input<OpNamed<N>['input']>; output: Awaited<ReturnType<OpNamed<N>['run']>> };
};
export type OpInputOf<N extends OpName> = OpMap[N]['input'];
export type OpResult<N extends OpName> = OpMap[N]['output'];


export type { EventMap, EventTopic, ProgressEvent } from './events';

// The records the screens read, each the result (or a part of the result) of the operation that answers it.
export type { ErrorEnvelope, ErrorKind } from '../core/errors';
export type { MixupConfig, Ramp, RunConfig } from '../config/run-config';
export type { EpochAudit, LambdaHistogram } from '../mixup/audit';
export type { RunStatusEvent, TrainProgressEvent } from '../training/train-events';

export type SystemInfo = OpResult<'system:info'>;
export type DatasetListItem = OpResult<'datasets:list'>[number];
export type DatasetDetail = OpResult<'datasets:show'>;
export type ClassStats = DatasetDetail['classes'][number];
export type IndexResult = OpResult<'datasets:index'>;
export type ImagesPage = OpResult<'datasets:images'>;
export type GalleryImage = ImagesPage['items'][number];
export type PolicyPair = OpResult<'policy:list'>[number];
export type PolicyMatrix = OpResult<'policy:matrix'>;
export type PreviewResult = OpResult<'mixup:preview'>;
export type PreviewEpoch = PreviewResult['epochs'][number];
export type RunListItem = OpResult<'runs:list'>[number];
export type RunDetail = OpResult<'runs:show'>;
export type EpochRow = RunDetail['epochs'][number];
export type CompareResult = OpResult<'runs:compare'>;
export type ExportResult = OpResult<'runs:export'>;
export type SweepDoc = OpResult<'sweeps:show'>;
export type SweepTrial = SweepDoc['trials'][number];
export type SweepListItem = OpResult<'sweeps:list'>[number];

/**
 * Compile-time guard (checked by `npm run typecheck`, which `npm test` runs first): the renderer declares the
 * output shapes it reads in src-renderer/src/lib/contract-types.ts, so that the page bundle imports nothing
 * from the Node side. Each core output type must stay assignable to the renderer's view of it; a field the
 * core renames or drops, or whose type changes, fails the type check here instead of showing up as
 * `undefined` on a screen.
 */
import type { IndexResult, DatasetListItem, GalleryItem } from '../../src-main/api/ops/datasets';
import type { DatasetSummary } from '../../src-main/datasets/summary';
import type { PreviewResult } from '../../src-main/datasets/mixup-preview';
import type { CompareDoc } from '../../src-main/export/compare';
import type { ExportResult } from '../../src-main/export/export-run';
import type { EpochRow } from '../../src-main/training/runs-repository';
import type { RunListItem } from '../../src-main/api/ops/runs';
import type { PolicyPairInfo } from '../../src-main/datasets/policy-repository';
import type * as R from '../../src-renderer/src/lib/contract-types';

type Assignable<Core extends View, View> = [Core, View];

export type Checks = [
  Assignable<IndexResult, R.IndexDoc>,
  Assignable<DatasetSummary, R.DatasetDetail>,
  Assignable<DatasetListItem, R.DatasetSummary>,
  Assignable<GalleryItem, R.GalleryImage>,
  Assignable<{ total: number; items: GalleryItem[] }, R.ImagesPage>,
  Assignable<PreviewResult, R.PreviewDoc>,
  Assignable<CompareDoc, R.CompareDoc>,
  Assignable<ExportResult, R.ExportDoc>,
  Assignable<EpochRow, R.EpochRow>,
  Assignable<RunListItem, R.RunSummary>,
  Assignable<PolicyPairInfo, R.PolicyPair>,
];

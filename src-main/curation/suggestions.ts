/** Accepting a pair suggestion of the stored pass: the policy change it names, with its reason as the note. */
import type { Db } from '../db/connection';
import { AppError } from '../core/errors';
import type { DatasetInfo } from '../datasets/repository';
import { acceptPairSuggestion, type LogEntry } from './actions';
import { curationView } from './review';

export function acceptSuggestion(db: Db, ds: DatasetInfo, input: { a: string; b: string; backbone?: string | number; weight?: number }): { entry: LogEntry; weight: number; note: string } {
  const view = curationView(db, ds, input.backbone);
  const pair = view.pairs.find((p) => (p.a === input.a && p.b === input.b) || (p.a === input.b && p.b === input.a));
  if (!pair) throw new AppError('not-found', `the curation of '${ds.name}' has no pair ${input.a} × ${input.b}`);
  if (pair.suggestion === null && input.weight === undefined) {
    throw new AppError('input', `the curation suggests nothing for ${pair.a} × ${pair.b} (${pair.reason}); give a weight to set one anyway`);
  }
  const weight = input.weight ?? pair.weight ?? 1;
  const note = `curation (${view.backbone.name}): ${pair.reason}`;
  const { entry } = acceptPairSuggestion(db, ds, pair.a, pair.b, weight, note);
  return { entry, weight, note };
}

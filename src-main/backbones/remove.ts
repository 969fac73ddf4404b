/**
 * `backbone remove NAME`: the record, its cached embeddings (by the foreign key) and, when no other backbone
 * shares it, its copy in the home. Refused while a run's config names the backbone, unless forced: that run
 * could no longer be repeated from its config.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../core/errors';
import type { Services } from '../core/services';
import { deleteBackbone, embeddingStats, resolveBackbone, sharersOf } from './repository';

export interface RemoveResult {
  removed: string;
  embeddings: number;
  fileRemoved: boolean;
}

/** Runs whose config names backbone `name` (`model.backbone`). */
function runsNaming(services: Services, name: string): number[] {
  return services.db
    .prepare("SELECT id FROM runs WHERE json_valid(config) AND json_extract(config, '$.model.backbone') = ? ORDER BY id")
    .pluck()
    .all(name) as number[];
}

export function removeBackbone(services: Services, ref: string | number, opts: { force?: boolean } = {}): RemoveResult {
  const b = resolveBackbone(services.db, ref);
  const runs = runsNaming(services, b.name);
  if (runs.length && !opts.force) {
    throw new AppError('conflict', `backbone '${b.name}' is named by run${runs.length > 1 ? 's' : ''} ${runs.join(', ')}; pass --force to remove it anyway (those runs could not be repeated)`);
  }
  const { vectors } = embeddingStats(services.db, b.id);
  const shared = sharersOf(services.db, b) > 0;
  deleteBackbone(services.db, b.id);
  if (!shared) rmSync(join(services.paths.home, b.file), { force: true });
  return { removed: b.name, embeddings: vectors, fileRemoved: !shared };
}

import { isAbsolute, relative, sep } from 'node:path';
import { z } from 'zod';
import { defineOp } from '../contract';
import { datasetRef, pathText } from '../refs';
import { AppError } from '../../core/errors';
import type { Db } from '../../db/connection';
import type { DatasetSummary } from '../../datasets/summary';
import type { ScanResult } from '../../datasets/scan';
import type { VerifyResult } from '../../datasets/verify';


export interface IndexResult extends ScanResult {
  /** Present with `verify: true`: the decode + thumbnail pass that followed the scan. */
  verify?: VerifyResult;
}

export interface DatasetListItem {
  id: number;
  name: string;
  root: string;
  images: number;
  classes: number;
  corrupt: number;
  excluded: number;
  createdAt: string;
  updatedAt: string;
  /** Every non-corrupt image has been decoded by the verify pass. */
  verified: boolean;
  unverified: number;
  scanState: 'scanning' | 'complete';
}

export interface GalleryItem {
  id: number;
  path: string;
  class: string;
  split: 'train' | 'val' | 'test';
  width: number | null;
  height: number | null;
  channels: number | null;
  format: string | null;
  status: 'ok' | 'corrupt';
  reason: string | null;
  excludedReason: string | null;
  verified: boolean;
}

/** Turns user paths (relative to the root, or absolute inside it) into the stored relative paths. */
function toRelPaths(root: string, paths: string[]): string[] {
  return paths.map((p) => {
    if (!isAbsolute(p)) return p.split(sep).join('/').replace(/^\.\//, '');
    const rel = relative(root, p);
    return rel.startsWith('..') ? p : rel.split(sep).join('/');
  });
}

function idsForPaths(db: Db, datasetId: number, root: string, paths: string[]): number[] {
  const get = db.prepare('SELECT id FROM images WHERE dataset_id = ? AND rel_path = ?').pluck();
  const rels = toRelPaths(root, paths);
  const missing: string[] = [];
  const ids = rels.map((rel, i) => {
    const id = get.get(datasetId, rel) as number | undefined;
    if (id === undefined) missing.push(paths[i]);
    return id ?? 0;
  });
  if (missing.length) {
    throw new AppError('not-found', `not in the dataset: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` (and ${missing.length - 10} more)` : ''}`);
  }
  return ids;
}

export const datasetsOps = [
  defineOp({
    name: 'datasets:index',
    summary: 'Create or update a dataset from a folder (class folders, split folders or a CSV manifest)',
    input: z
      .object({
        root: pathText(),
        name: z.string().min(1).optional(),
        manifest: pathText().optional(),
        valFraction: z.number().min(0).lt(1).optional(),
        seed: z.union([z.string(), z.number()]).optional(),
        verify: z.boolean().optional(),
      })
      .strict(),
    async run(ctx, input): Promise<IndexResult> {
      const { scanDataset } = await import('../../datasets/scan');
      const result: IndexResult = await scanDataset(ctx.services.db, {
        root: input.root,
        name: input.name,
        manifest: input.manifest,
        valFraction: input.valFraction,
        seed: input.seed,
        signal: ctx.signal,
        onProgress: (p) => ctx.emit('index.progress', p),
      });
      if (!input.verify) return result;
      const started = performance.now();
      const { verifyDataset } = await import('../../datasets/verify');
      const { summarizeDataset } = await import('../../datasets/summary');
      const verify = await verifyDataset(ctx.services, result.dataset.id, {
        signal: ctx.signal,
        onProgress: (p) => ctx.emit('verify.progress', p),
      });
      const after = summarizeDataset(ctx.services.db, result.dataset.id);
      return {
        ...result,
        ...after,
        seconds: Math.round((result.seconds + (performance.now() - started) / 1000) * 100) / 100,
        verify,
      };
    },
  }),
  defineOp({
    name: 'datasets:verify',
    summary: 'Decode every unverified image once and make its thumbnail; failures become corrupt',
    input: z.object({ dataset: datasetRef }).strict(),
    async run(ctx, input): Promise<VerifyResult> {
      const { verifyDataset } = await import('../../datasets/verify');
      return verifyDataset(ctx.services, input.dataset, {
        signal: ctx.signal,
        onProgress: (p) => ctx.emit('verify.progress', p),
      });
    },
  }),
  defineOp({
    name: 'datasets:list',
    summary: 'Every dataset of the home with its counts',
    input: z.object({}).strict(),
    run(ctx): DatasetListItem[] {
      const { db } = ctx.services;
      const rows = db.prepare('SELECT * FROM datasets ORDER BY name').all() as Record<string, any>[];
      // Each count from an index (a covering one for all rows, partial ones for the few corrupt, excluded and
      // unverified rows): no pass over a million-image table.
      const count = (where: string) => db.prepare(`SELECT COUNT(*) FROM images WHERE dataset_id = ? ${where}`).pluck();
      const allRows = count('');
      const corruptRows = count("AND status = 'corrupt'");
      const excludedRows = count("AND excluded_reason IS NOT NULL AND status = 'ok'");
      const unverifiedRows = count("AND verified = 0 AND status = 'ok'");
      const classCount = db.prepare('SELECT COUNT(*) FROM classes WHERE dataset_id = ?').pluck();
      return rows.map((r) => {
        const corrupt = corruptRows.get(r.id) as number;
        const excluded = excludedRows.get(r.id) as number;
        const unverified = unverifiedRows.get(r.id) as number;
        const images = (allRows.get(r.id) as number) - corrupt - excluded;
        return {
          id: r.id,
          name: r.name,
          root: r.root,
          images,
          classes: classCount.get(r.id) as number,
          corrupt,
          excluded,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
          verified: unverified === 0,
          unverified,
          scanState: r.scan_state,
        };
      });
    },
  }),
  defineOp({
    name: 'datasets:show',
    summary: 'A dataset: classes with split counts, corrupt, skipped, duplicates, excluded',
    input: z.object({ dataset: datasetRef }).strict(),
    async run(ctx, input): Promise<DatasetSummary> {
      const { resolveDataset } = await import('../../datasets/repository');
      const { summarizeDataset } = await import('../../datasets/summary');
      return summarizeDataset(ctx.services.db, resolveDataset(ctx.services.db, input.dataset).id);
    },
  }),
  defineOp({
    name: 'datasets:images',
    summary: 'One page of a dataset’s images (gallery), optionally of one class, split or status',
    input: z
      .object({
        dataset: datasetRef,
        class: z.string().min(1).optional(),
        split: z.enum(['train', 'val', 'test']).optional(),
        status: z.enum(['usable', 'corrupt', 'excluded', 'unverified']).optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(1000).default(100),
        /** Count the matching images (a full index scan: 80 ms at 1,000,000); pages after the first can skip it. */
        withTotal: z.boolean().default(true),
      })
      .strict(),
    async run(ctx, input): Promise<{ total: number | null; items: GalleryItem[] }> {
      const { db } = ctx.services;
      const { resolveDataset } = await import('../../datasets/repository');
      const ds = resolveDataset(db, input.dataset);
      const where = ['dataset_id = @ds'];
      const params: Record<string, unknown> = { ds: ds.id, limit: input.limit, offset: input.offset };
      if (input.class !== undefined) {
        const cid = db.prepare('SELECT id FROM classes WHERE dataset_id = ? AND name = ?').pluck().get(ds.id, input.class);
        if (cid === undefined) throw new AppError('not-found', `dataset '${ds.name}' has no class '${input.class}'`);
        where.push('class_id = @cid');
        params.cid = cid;
      }
      if (input.split) {
        where.push('split = @split');
        params.split = input.split;
      }
      if (input.status === 'usable') where.push("status = 'ok' AND excluded_reason IS NULL");
      else if (input.status === 'corrupt') where.push("status = 'corrupt'");
      else if (input.status === 'excluded') where.push('excluded_reason IS NOT NULL');
      else if (input.status === 'unverified') where.push("verified = 0 AND status = 'ok'");
      const w = where.join(' AND ');
      const total = input.withTotal ? (db.prepare(`SELECT COUNT(*) FROM images WHERE ${w}`).pluck().get(params) as number) : null;
      // The page's ids come from an index alone (no row reads while skipping the offset).
      const rows = db
        .prepare(
          `SELECT i.id, i.rel_path, c.name AS class, i.split, i.width, i.height, i.channels, i.format, i.status, i.reason,
                  i.excluded_reason, i.verified
           FROM images i JOIN classes c ON c.id = i.class_id
           WHERE i.id IN (SELECT id FROM images WHERE ${w} ORDER BY id LIMIT @limit OFFSET @offset)
           ORDER BY i.id`,
        )
        .all(params) as Record<string, any>[];
      return {
        total,
        items: rows.map((r) => ({
          id: r.id,
          path: r.rel_path,
          class: r.class,
          split: r.split,
          width: r.width,
          height: r.height,
          channels: r.channels,
          format: r.format,
          status: r.status,
          reason: r.reason,
          excludedReason: r.excluded_reason,
          verified: r.verified === 1,
        })),
      };
    },
  }),
  defineOp({
    name: 'datasets:exclude',
    summary: 'Exclude images from training (curation), with a reason',
    input: z
      .object({ dataset: datasetRef, paths: z.array(z.string().min(1)).min(1), reason: z.string().trim().min(1, 'a reason is required') })
      .strict(),
    async run(ctx, input): Promise<{ changed: number }> {
      const { db } = ctx.services;
      const { resolveDataset } = await import('../../datasets/repository');
      const ds = resolveDataset(db, input.dataset);
      const ids = idsForPaths(db, ds.id, ds.root, input.paths);
      const upd = db.prepare('UPDATE images SET excluded_reason = ? WHERE id = ? AND excluded_reason IS NOT ?');
      let changed = 0;
      db.transaction(() => {
        for (const id of ids) changed += upd.run(input.reason, id, input.reason).changes;
        db.prepare('UPDATE datasets SET updated_at = ? WHERE id = ?').run(new Date().toISOString(), ds.id);
      })();
      return { changed };
    },
  }),
  defineOp({
    name: 'datasets:include',
    summary: 'Include excluded images again',
    input: z.object({ dataset: datasetRef, paths: z.array(z.string().min(1)).min(1), reason: z.string().optional() }).strict(),
    async run(ctx, input): Promise<{ changed: number }> {
      const { db } = ctx.services;
      const { resolveDataset } = await import('../../datasets/repository');
      const ds = resolveDataset(db, input.dataset);
      const ids = idsForPaths(db, ds.id, ds.root, input.paths);
      const upd = db.prepare('UPDATE images SET excluded_reason = NULL WHERE id = ? AND excluded_reason IS NOT NULL');
      let changed = 0;
      db.transaction(() => {
        for (const id of ids) changed += upd.run(id).changes;
        db.prepare('UPDATE datasets SET updated_at = ? WHERE id = ?').run(new Date().toISOString(), ds.id);
      })();
      return { changed };
    },
  }),
];

/**
 * `datasets:export`: the curated dataset as files another training stack can read (e.g. PyTorch/timm):
 * - `manifest.csv`: `path,label,split,excluded_reason` (RFC 4180 quoting, UTF-8), one row per indexed image,
 *   path relative to the dataset root (absolute when the image lies outside it). Usable images have an empty
 *   `excluded_reason`; excluded ones carry the user's reason; undecodable ones `corrupt: <why>`.
 * - `policy.json`: the pair policy (`mixup-studio.pair-policy` v1, the format `policy import` reads):
 *   `{format, version, dataset, classes, pairs: [{a, b, weight, note}]}` — weight 0 = never mix, 0 < w < 1 =
 *   mixed that often, pairs not listed are allowed (weight 1).
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Services } from '../core/services';
import { checkPathText } from '../core/user-files';
import { writeFolderAtomically } from './export-run';

/** One CSV field: quoted when it holds a comma, quote, CR/LF or leading/trailing space. */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface DatasetExportResult {
  out: string;
  dataset: { id: number; name: string };
  manifest: string;
  policy: string;
  images: number;
  usable: number;
  excluded: number;
  corrupt: number;
  files: { path: string; bytes: number }[];
}

export async function exportDataset(services: Services, input: { dataset: string | number; out: string }): Promise<DatasetExportResult> {
  const repo = await import('../datasets/repository');
  const { exportPolicy } = await import('../datasets/policy-repository');
  // A NUL byte or an over-long name is the caller's mistake (exit 2 / 400), found before any file system call;
  // writeFolderAtomically refuses a link, a file or a non-empty folder as DIR.
  checkPathText(input.out, '--out');
  const db = services.db;
  const ds = repo.resolveDataset(db, input.dataset);
  const rows = db
    .prepare(
      `SELECT i.rel_path AS relPath, c.name AS label, i.split AS split, i.status AS status, i.reason AS reason, i.excluded_reason AS excludedReason
       FROM images i LEFT JOIN classes c ON c.id = i.class_id
       WHERE i.dataset_id = ? ORDER BY i.rel_path`,
    )
    .all(ds.id) as { relPath: string; label: string | null; split: string | null; status: string; reason: string | null; excludedReason: string | null }[];
  let usable = 0;
  let excluded = 0;
  let corrupt = 0;
  const lines = ['path,label,split,excluded_reason'];
  for (const r of rows) {
    let why = '';
    if (r.excludedReason !== null) {
      why = r.excludedReason || 'excluded';
      excluded += 1;
    } else if (r.status !== 'ok') {
      why = `${r.status}: ${r.reason ?? 'unreadable'}`;
      corrupt += 1;
    } else usable += 1;
    lines.push([r.relPath, r.label ?? '', r.split ?? '', why].map(csvField).join(','));
  }
  const policy = exportPolicy(db, ds.id, ds.name);
  const files = await writeFolderAtomically(input.out, async (dir) => {
    writeFileSync(join(dir, 'manifest.csv'), `${lines.join('\r\n')}\r\n`, 'utf8');
    writeFileSync(join(dir, 'policy.json'), `${JSON.stringify(policy, null, 2)}\n`, 'utf8');
  });
  const out = resolve(input.out);
  return {
    out,
    dataset: { id: ds.id, name: ds.name },
    manifest: join(out, 'manifest.csv'),
    policy: join(out, 'policy.json'),
    images: rows.length,
    usable,
    excluded,
    corrupt,
    files,
  };
}

/** What a dataset holds, as `index` and `dataset show` print it (CLI.md). */
import type { Db } from '../db/connection';
import { resolveDataset, type Split } from './repository';

export interface PathReason {
  path: string;
  reason: string;
}

export interface DuplicateGroup {
  hash: string;
  paths: string[];
  classes: string[];
  /** The group spans classes: the same picture carries two labels. */
  conflict: boolean;
}

export interface ClassSummary {
  name: string;
  /** Usable images (not corrupt, not excluded). */
  count: number;
  splits: Record<Split, number>;
}

export interface DatasetSummary {
  dataset: { id: number; name: string; root: string };
  images: number;
  classes: ClassSummary[];
  splits: Record<Split, number>;
  corrupt: PathReason[];
  skipped: PathReason[];
  duplicates: DuplicateGroup[];
  excluded: PathReason[];
  verified: number;
  unverified: number;
  scanState: 'scanning' | 'complete';
}

const emptySplits = (): Record<Split, number> => ({ train: 0, val: 0, test: 0 });

export function summarizeDataset(db: Db, datasetId: number): DatasetSummary {
  const ds = resolveDataset(db, datasetId);
  const classes = new Map<number, ClassSummary>();
  for (const [id, name] of db.prepare('SELECT id, name FROM classes WHERE dataset_id = ? ORDER BY name').raw().all(datasetId) as [number, string][]) {
    classes.set(id, { name, count: 0, splits: emptySplits() });
  }
  const splits = emptySplits();
  let images = 0;
  let verified = 0;
  let unverified = 0;
  // One pass over the dataset's rows: usable counts by class and split, and the verify state.
  for (const [cid, split, usable, ok, ver, n] of db
    .prepare(
      `SELECT class_id, split, status = 'ok' AND excluded_reason IS NULL, status = 'ok', verified, COUNT(*) FROM images
       WHERE dataset_id = ? GROUP BY 1, 2, 3, 4, 5`,
    )
    .raw()
    .all(datasetId) as [number, Split, number, number, number, number][]) {
    if (ok) {
      if (ver) verified += n;
      else unverified += n;
    }
    if (!usable) continue;
    const c = classes.get(cid);
    if (!c) continue;
    c.count += n;
    c.splits[split] += n;
    splits[split] += n;
    images += n;
  }
  const corrupt = (
    db.prepare("SELECT rel_path, reason FROM images WHERE dataset_id = ? AND status = 'corrupt' ORDER BY rel_path").raw().all(datasetId) as [
      string,
      string | null,
    ][]
  ).map(([path, reason]) => ({ path, reason: reason ?? 'corrupt' }));
  const excluded = (
    db
      .prepare('SELECT rel_path, excluded_reason FROM images WHERE dataset_id = ? AND excluded_reason IS NOT NULL ORDER BY rel_path')
      .raw()
      .all(datasetId) as [string, string][]
  ).map(([path, reason]) => ({ path, reason }));
  const skipped = (
    db.prepare('SELECT rel_path, reason FROM scan_issues WHERE dataset_id = ? ORDER BY rel_path, id').raw().all(datasetId) as [string, string][]
  ).map(([path, reason]) => ({ path, reason }));
  const duplicates: DuplicateGroup[] = [];
  const dupRows = db
    .prepare(
      `SELECT i.hash, i.rel_path, c.name FROM images i JOIN classes c ON c.id = i.class_id
       WHERE i.dataset_id = ? AND i.status = 'ok' AND i.excluded_reason IS NULL AND i.hash IN (
         SELECT hash FROM images WHERE dataset_id = ? AND hash IS NOT NULL GROUP BY hash HAVING COUNT(*) > 1)
       ORDER BY i.hash, i.rel_path`,
    )
    .raw()
    .all(datasetId, datasetId) as [string, string, string][];
  for (const [hash, path, cls] of dupRows) {
    let g = duplicates[duplicates.length - 1];
    if (!g || g.hash !== hash) duplicates.push((g = { hash, paths: [], classes: [], conflict: false }));
    g.paths.push(path);
    if (!g.classes.includes(cls)) g.classes.push(cls);
  }
  // The candidate groups came from the hash index alone; a group is a duplicate among usable images only.
  for (let k = duplicates.length - 1; k >= 0; k--) if (duplicates[k].paths.length < 2) duplicates.splice(k, 1);
  for (const g of duplicates) {
    g.classes.sort();
    g.conflict = g.classes.length > 1;
  }
  // Conflicts first: they are the ones a user must resolve.
  duplicates.sort((a, b) => Number(b.conflict) - Number(a.conflict) || (a.paths[0] < b.paths[0] ? -1 : 1));
  return {
    dataset: { id: ds.id, name: ds.name, root: ds.root },
    images,
    classes: [...classes.values()],
    splits,
    corrupt,
    skipped,
    duplicates,
    excluded,
    verified,
    unverified,
    scanState: ds.scanState,
  };
}

/**
 * A stored curation pass as the user reviews it: each finding with where it stands now (open, relabelled,
 * excluded, kept; a pair suggestion accepted or dismissed, with the policy weight in force), whether a rescan
 * made the pass stale, and the map's points for the canvas.
 */
import type { Db } from '../db/connection';
import { AppError } from '../core/errors';
import type { DatasetInfo } from '../datasets/repository';
import { listPolicy } from '../datasets/policy-repository';
import { resolveBackbone } from '../backbones/repository';
import { listMarks, pairKey } from './actions';
import type { CurationResult } from './curate';
import { contentHash, loadCuration, loadCurationMap, type StoredCuration } from './repository';

export type FindingStatus = 'open' | 'relabelled' | 'excluded' | 'kept';

export interface CurationView extends CurationResult {
  /** A rescan changed the dataset's files since this pass: run `curate` again. */
  stale: boolean;
  /** `id`: the image's id for media (null when a rescan removed it); `current`: its class now. */
  labelIssues: (CurationResult['labelIssues'][number] & { status: FindingStatus; current: string | null; id: number | null })[];
  outliers: (CurationResult['outliers'][number] & { status: FindingStatus; id: number | null })[];
  nearDuplicates: (CurationResult['nearDuplicates'][number] & { status: 'open' | 'kept' | 'resolved'; excluded: string[]; ids: (number | null)[] })[];
  pairs: (CurationResult['pairs'][number] & { status: 'open' | 'accepted' | 'dismissed'; policyWeight: number })[];
}

function stored(db: Db, ds: DatasetInfo, backbone?: string | number): StoredCuration {
  const bb = backbone !== undefined ? resolveBackbone(db, backbone) : undefined;
  const c = loadCuration(db, ds.id, bb?.id);
  if (!c) {
    throw new AppError(
      'not-found',
      `no curation of dataset '${ds.name}'${bb ? ` with backbone '${bb.name}'` : ''} yet: run \`mixup-studio curate ${ds.name} --backbone ${bb?.name ?? 'NAME'}\``,
    );
  }
  return c;
}

export function curationView(db: Db, ds: DatasetInfo, backbone?: string | number): CurationView {
  const c = stored(db, ds, backbone);
  const r = c.result as unknown as CurationResult;
  const state = new Map<string, { id: number; cls: string; given: string | null; excluded: string | null }>();
  const rows = db
    .prepare(
      `SELECT i.id, i.rel_path, c.name, g.name, i.excluded_reason FROM images i JOIN classes c ON c.id = i.class_id
       LEFT JOIN classes g ON g.id = i.given_class_id WHERE i.dataset_id = ?`,
    )
    .raw()
    .iterate(ds.id) as IterableIterator<[number, string, string, string | null, string | null]>;
  for (const [id, rel, cls, given, excluded] of rows) state.set(rel, { id, cls, given, excluded });
  const marks = new Map(listMarks(db, ds.id).map((m) => [`${m.kind}\n${m.key}`, m.verdict]));
  const statusOf = (kind: 'label' | 'outlier', path: string): FindingStatus => {
    const s = state.get(path);
    if (s?.excluded) return 'excluded';
    if (s?.given) return 'relabelled';
    return marks.get(`${kind}\n${path}`) === 'kept' ? 'kept' : 'open';
  };
  const policy = new Map(listPolicy(db, ds.id).map((p) => [pairKey(p.a, p.b), p.weight]));
  return {
    ...r,
    stale: contentHash(db, ds.id) !== c.content,
    labelIssues: r.labelIssues.map((f) => ({ ...f, status: statusOf('label', f.path), current: state.get(f.path)?.cls ?? null, id: state.get(f.path)?.id ?? null })),
    outliers: r.outliers.map((f) => ({ ...f, status: statusOf('outlier', f.path), id: state.get(f.path)?.id ?? null })),
    nearDuplicates: r.nearDuplicates.map((g) => {
      const excluded = g.paths.filter((p) => state.get(p)?.excluded);
      const status = g.paths.length - excluded.length <= 1 ? 'resolved' : marks.get(`duplicate\n${g.paths[0]}`) === 'kept' ? 'kept' : 'open';
      return { ...g, status, excluded, ids: g.paths.map((p) => state.get(p)?.id ?? null) };
    }),
    pairs: r.pairs.map((p) => {
      const verdict = marks.get(`pair\n${pairKey(p.a, p.b)}`);
      return { ...p, status: verdict === 'accepted' || verdict === 'dismissed' ? verdict : 'open', policyWeight: policy.get(pairKey(p.a, p.b)) ?? 1 };
    }),
  };
}

/** Flags of a map point: 1 a label suspect, 2 an outlier, 4 in a near-duplicate group. */
export interface CurationMap {
  method: string;
  classes: string[];
  path: string[];
  /** Image ids for media (-1 where a rescan removed the image). */
  id: number[];
  cls: number[];
  x: number[];
  y: number[];
  flag: number[];
}

export function curationMap(db: Db, ds: DatasetInfo, backbone?: string | number): CurationMap {
  const c = stored(db, ds, backbone);
  const r = c.result as unknown as CurationResult;
  const { paths, xy } = loadCurationMap(db, c.id);
  const classes = db.prepare('SELECT name FROM classes WHERE dataset_id = ? ORDER BY name').pluck().all(ds.id) as string[];
  const index = new Map(classes.map((name, k) => [name, k]));
  const current = new Map(
    (db.prepare('SELECT i.rel_path, c.name, i.id FROM images i JOIN classes c ON c.id = i.class_id WHERE i.dataset_id = ?').raw().all(ds.id) as [string, string, number][]).map(
      ([rel, name, id]) => [rel, { name, id }],
    ),
  );
  const flags = new Map<string, number>();
  const add = (p: string, f: number) => flags.set(p, (flags.get(p) ?? 0) | f);
  for (const f of r.labelIssues) add(f.path, 1);
  for (const f of r.outliers) add(f.path, 2);
  for (const g of r.nearDuplicates) for (const p of g.paths) add(p, 4);
  const out: CurationMap = { method: r.map?.method ?? 'pca', classes, path: [], id: [], cls: [], x: [], y: [], flag: [] };
  paths.forEach((p, i) => {
    out.path.push(p);
    out.id.push(current.get(p)?.id ?? -1);
    out.cls.push(index.get(current.get(p)?.name ?? '') ?? -1);
    out.x.push(Math.round(xy[i * 2]! * 1e4) / 1e4);
    out.y.push(Math.round(xy[i * 2 + 1]! * 1e4) / 1e4);
    out.flag.push(flags.get(p) ?? 0);
  });
  return out;
}

/**
 * What a curator does about a finding, each step logged with what it replaced so it can be undone (newest
 * first): relabel (an override kept in the index; the user's files never move), exclude / include, a verdict on
 * a finding (a suspect kept, a pair suggestion dismissed or accepted), and a policy change made from a
 * suggestion. All of it is keyed by relative path or class name, so it survives rescans.
 */
import type { Db } from '../db/connection';
import { AppError } from '../core/errors';
import { idsForPaths } from '../datasets/catalog';
import type { DatasetInfo } from '../datasets/repository';
import { listClasses } from '../datasets/repository';
import { checkClass, listPolicy, orderPair, setPairWeight } from '../datasets/policy-repository';

export type MarkKind = 'label' | 'duplicate' | 'outlier' | 'pair';
export type Verdict = 'kept' | 'dismissed' | 'accepted';

/** What one log entry needs to be undone. */
type Undo =
  /** A relabel: each image's class before it (by id and path: an id a rescan freed may be reused). */
  | { kind: 'labels'; rows: [id: number, relPath: string, classId: number][] }
  /** An exclude or include: each image's exclusion before it. */
  | { kind: 'exclusions'; rows: [id: number, relPath: string, excludedReason: string | null][] }
  | { kind: 'mark'; mark: MarkKind; key: string; previous: Verdict | null }
  | {
      kind: 'policy';
      a: string;
      b: string;
      previous: { weight: number; note: string | null } | null;
      /** What the accept wrote: the undo leaves a policy changed since as it is. */
      wrote?: { weight: number; note: string };
      mark?: { key: string; previous: Verdict | null };
    };

export interface LogEntry {
  id: number;
  action: string;
  summary: string;
  createdAt: string;
  undoneAt: string | null;
}

function log(db: Db, datasetId: number, action: string, summary: string, undo: Undo): LogEntry {
  const r = db
    .prepare('INSERT INTO curation_log (dataset_id, action, summary, undo) VALUES (?, ?, ?, ?) RETURNING id, created_at')
    .get(datasetId, action, summary, JSON.stringify(undo)) as { id: number; created_at: string };
  db.prepare('UPDATE datasets SET updated_at = ? WHERE id = ?').run(new Date().toISOString(), datasetId);
  return { id: r.id, action, summary, createdAt: r.created_at, undoneAt: null };
}

function imageRows(db: Db, ids: readonly number[]): [id: number, relPath: string, classId: number, excludedReason: string | null][] {
  const get = db.prepare('SELECT id, rel_path, class_id, excluded_reason FROM images WHERE id = ?').raw();
  return ids.map((id) => get.get(id) as [number, string, number, string | null]);
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/**
 * Relabels images to `className` (a class of the dataset), or back to the class their folder gives (`null`).
 * Training, counts, the gallery and `dataset export` see the corrected class; the fingerprint changes with it.
 */
export function relabelImages(db: Db, ds: DatasetInfo, paths: string[], className: string | null): { changed: number; entry: LogEntry | null } {
  let target: number | undefined;
  if (className !== null) {
    checkClass(db, ds.id, className, ds.name);
    target = listClasses(db, ds.id).find((c) => c.name === className)!.id;
  }
  const ids = idsForPaths(db, ds.id, ds.root, paths);
  return db.transaction(() => {
    const before = imageRows(db, ids);
    const toClass = db.prepare(
      // given_class_id keeps the folder's class; relabelling back to it ends the relabel.
      `UPDATE images SET given_class_id = CASE WHEN COALESCE(given_class_id, class_id) = @to THEN NULL ELSE COALESCE(given_class_id, class_id) END,
         class_id = @to WHERE id = @id AND class_id IS NOT @to`,
    );
    const back = db.prepare('UPDATE images SET class_id = given_class_id, given_class_id = NULL WHERE id = ? AND given_class_id IS NOT NULL');
    let changed = 0;
    for (const id of ids) changed += (target !== undefined ? toClass.run({ to: target, id }) : back.run(id)).changes;
    if (changed === 0) return { changed, entry: null };
    const what = className !== null ? `relabelled ${plural(changed, 'image')} as ${className}` : `restored the folder class of ${plural(changed, 'image')}`;
    return { changed, entry: log(db, ds.id, 'relabel', what, { kind: 'labels', rows: before.map(([id, rel, cls]) => [id, rel, cls]) }) };
  })();
}

/** Excludes images with a reason, or includes them again (`reason` null), logged for undo. */
export function setExcludedLogged(db: Db, ds: DatasetInfo, paths: string[], reason: string | null): { changed: number; entry: LogEntry | null } {
  const ids = idsForPaths(db, ds.id, ds.root, paths);
  return db.transaction(() => {
    const before = imageRows(db, ids);
    const upd =
      reason === null
        ? db.prepare('UPDATE images SET excluded_reason = NULL WHERE id = ? AND excluded_reason IS NOT NULL')
        : db.prepare('UPDATE images SET excluded_reason = ? WHERE id = ? AND excluded_reason IS NOT ?');
    let changed = 0;
    for (const id of ids) changed += (reason === null ? upd.run(id) : upd.run(reason, id, reason)).changes;
    if (changed === 0) return { changed, entry: null };
    const what = reason === null ? `included ${plural(changed, 'image')} again` : `excluded ${plural(changed, 'image')} (${reason})`;
    return { changed, entry: log(db, ds.id, reason === null ? 'include' : 'exclude', what, { kind: 'exclusions', rows: before.map(([id, rel, , why]) => [id, rel, why]) }) };
  })();
}

function getMark(db: Db, datasetId: number, kind: MarkKind, key: string): Verdict | null {
  return (db.prepare('SELECT verdict FROM curation_marks WHERE dataset_id = ? AND kind = ? AND key = ?').pluck().get(datasetId, kind, key) as Verdict | undefined) ?? null;
}

function putMark(db: Db, datasetId: number, kind: MarkKind, key: string, verdict: Verdict | null): void {
  if (verdict === null) db.prepare('DELETE FROM curation_marks WHERE dataset_id = ? AND kind = ? AND key = ?').run(datasetId, kind, key);
  else {
    db.prepare(
      `INSERT INTO curation_marks (dataset_id, kind, key, verdict) VALUES (?, ?, ?, ?)
       ON CONFLICT (dataset_id, kind, key) DO UPDATE SET verdict = excluded.verdict, created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
    ).run(datasetId, kind, key, verdict);
  }
}

/** The key of a class pair's mark: the two names in policy order, joined by a tab. */
export function pairKey(x: string, y: string): string {
  return orderPair(x, y).join('\t');
}

/**
 * Records the user's verdict on a finding: 'kept' (a label suspect, outlier or near-duplicate group that is
 * fine as it is; key = the relative path, or a group's first path), 'dismissed' (a pair suggestion; key =
 * pairKey). `null` clears it.
 */
export function markFinding(db: Db, ds: DatasetInfo, kind: MarkKind, key: string, verdict: Verdict | null): { entry: LogEntry | null } {
  if (!key) throw new AppError('input', 'key: name the image (its path) or the class pair');
  if (verdict !== null && (kind === 'pair') !== (verdict === 'dismissed' || verdict === 'accepted')) {
    throw new AppError('input', `verdict: a ${kind === 'pair' ? 'pair suggestion is accepted or dismissed' : `${kind} finding is kept`}, not ${verdict}`);
  }
  return db.transaction(() => {
    const previous = getMark(db, ds.id, kind, key);
    if (previous === verdict) return { entry: null };
    putMark(db, ds.id, kind, key, verdict);
    const shown = kind === 'pair' ? key.split('\t').join(' × ') : key;
    const what = verdict === null ? `cleared the verdict on ${shown}` : `${verdict} ${kind === 'pair' ? 'the suggestion for ' : ''}${shown}`;
    return { entry: log(db, ds.id, 'mark', what, { kind: 'mark', mark: kind, key, previous }) };
  })();
}

/** Every verdict of the dataset, by kind and key. */
export function listMarks(db: Db, datasetId: number): { kind: MarkKind; key: string; verdict: Verdict }[] {
  return db.prepare('SELECT kind, key, verdict FROM curation_marks WHERE dataset_id = ? ORDER BY kind, key').all(datasetId) as {
    kind: MarkKind;
    key: string;
    verdict: Verdict;
  }[];
}

/**
 * Accepts a pair suggestion: writes the policy (forbid: weight 0; down-weight: `weight`) with the reason as
 * its note, and marks the suggestion accepted; one undo restores both.
 */
export function acceptPairSuggestion(db: Db, ds: DatasetInfo, x: string, y: string, weight: number, note: string): { entry: LogEntry } {
  const [a, b] = orderPair(x, y);
  return db.transaction(() => {
    const prev = listPolicy(db, ds.id).find((p) => p.a === a && p.b === b);
    const key = pairKey(a, b);
    const previousMark = getMark(db, ds.id, 'pair', key);
    setPairWeight(db, ds.id, a, b, weight, note, ds.name);
    putMark(db, ds.id, 'pair', key, 'accepted');
    const what = weight === 0 ? `forbade ${a} × ${b}` : `set ${a} × ${b} to weight ${weight}`;
    return {
      entry: log(db, ds.id, 'policy', what, {
        kind: 'policy',
        a,
        b,
        previous: prev ? { weight: prev.weight, note: prev.note } : null,
        wrote: { weight, note },
        mark: { key, previous: previousMark },
      }),
    };
  })();
}

/** The dataset's curation log, newest first. */
export function curationLog(db: Db, datasetId: number, limit = 200): LogEntry[] {
  return (
    db
      .prepare('SELECT id, action, summary, created_at, undone_at FROM curation_log WHERE dataset_id = ? ORDER BY id DESC LIMIT ?')
      .all(datasetId, limit) as { id: number; action: string; summary: string; created_at: string; undone_at: string | null }[]
  ).map((r) => ({ id: r.id, action: r.action, summary: r.summary, createdAt: r.created_at, undoneAt: r.undone_at }));
}

/**
 * Undoes the newest curation action not undone yet and answers what it was (null when there is none). Only what
 * the action changed is put back: a relabel's class (against the folder's class now), an exclusion's reason, a
 * verdict, a policy row (left as it is when it changed since the accept). Images are matched by id and path,
 * so one a rescan removed is skipped, never another that took its id; a class a rescan removed makes its
 * relabel impossible to restore, and that image keeps the class it has.
 */
export function undoLast(db: Db, ds: DatasetInfo): { undone: LogEntry | null } {
  return db.transaction(() => {
    const r = db
      .prepare('SELECT id, action, summary, undo, created_at FROM curation_log WHERE dataset_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1')
      .get(ds.id) as { id: number; action: string; summary: string; undo: string; created_at: string } | undefined;
    if (!r) return { undone: null };
    const undo = JSON.parse(r.undo) as Undo;
    let summary = r.summary;
    if (undo.kind === 'labels') {
      // Back to the class the image had, against the class its folder gives now (a rescan may have moved it).
      const classIds = new Set(listClasses(db, ds.id).map((c) => c.id));
      const put = db.prepare(
        `UPDATE images SET class_id = @cls, given_class_id = CASE WHEN COALESCE(given_class_id, class_id) = @cls THEN NULL ELSE COALESCE(given_class_id, class_id) END
         WHERE id = @id AND rel_path = @rel AND dataset_id = @ds`,
      );
      for (const [id, rel, cls] of undo.rows) if (classIds.has(cls)) put.run({ cls, id, rel, ds: ds.id });
    } else if (undo.kind === 'exclusions') {
      const put = db.prepare('UPDATE images SET excluded_reason = ? WHERE id = ? AND rel_path = ? AND dataset_id = ?');
      for (const [id, rel, reason] of undo.rows) put.run(reason, id, rel, ds.id);
    } else if (undo.kind === 'mark') {
      putMark(db, ds.id, undo.mark, undo.key, undo.previous);
    } else {
      const known = new Set(listClasses(db, ds.id).map((c) => c.name));
      const now = listPolicy(db, ds.id).find((p) => p.a === undo.a && p.b === undo.b);
      const untouched = !undo.wrote || (now !== undefined && now.weight === undo.wrote.weight && now.note === undo.wrote.note);
      if (!untouched) summary = `${r.summary} (the pair's policy changed since and was left as it is)`;
      else if (known.has(undo.a) && known.has(undo.b)) {
        if (undo.previous) setPairWeight(db, ds.id, undo.a, undo.b, undo.previous.weight, undo.previous.note, ds.name);
        else db.prepare('DELETE FROM pair_policy WHERE dataset_id = ? AND class_a = ? AND class_b = ?').run(ds.id, undo.a, undo.b);
      }
      if (undo.mark) putMark(db, ds.id, 'pair', undo.mark.key, undo.mark.previous);
    }
    const undoneAt = new Date().toISOString();
    db.prepare('UPDATE curation_log SET undone_at = ? WHERE id = ?').run(undoneAt, r.id);
    db.prepare('UPDATE datasets SET updated_at = ? WHERE id = ?').run(undoneAt, ds.id);
    return { undone: { id: r.id, action: r.action, summary, createdAt: r.created_at, undoneAt } };
  })();
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { getPolicy, listPolicy, orderPair, setPairWeight } from '../../src-main/datasets/policy-repository';
import { tempServices, testContext } from '../helpers/temp';

describe('pair policy repository (real SQLite, migration 0003)', () => {
  let s: ReturnType<typeof tempServices>;
  let datasetId: number;

  beforeEach(() => {
    s = tempServices();
    datasetId = Number(s.db.prepare("INSERT INTO datasets (name, root) VALUES ('toy', '/nowhere')").run().lastInsertRowid);
    for (const c of ['cat', 'Dog', 'zebra', 'émeu']) s.db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)').run(datasetId, c);
  });
  afterEach(() => s.cleanup());

  it('stores unordered pairs once, a ≤ b in the byte order class indexes follow', () => {
    setPairWeight(s.db, datasetId, 'zebra', 'cat', 0);
    setPairWeight(s.db, datasetId, 'cat', 'zebra', 0.4);
    setPairWeight(s.db, datasetId, 'émeu', 'Dog', 0);
    const rows = listPolicy(s.db, datasetId);
    expect(rows.map((r) => [r.a, r.b, r.weight])).toEqual([
      ['Dog', 'émeu', 0],
      ['cat', 'zebra', 0.4],
    ]);
    expect(orderPair('émeu', 'zebra')).toEqual(['zebra', 'émeu']); // é is after z in UTF-8 bytes, as in SQLite
  });

  it('keeps a note until it is replaced, and forgets a pair set back to weight 1', () => {
    setPairWeight(s.db, datasetId, 'cat', 'Dog', 0, 'never');
    setPairWeight(s.db, datasetId, 'cat', 'Dog', 0.5);
    expect(listPolicy(s.db, datasetId)[0]).toMatchObject({ weight: 0.5, note: 'never' });
    setPairWeight(s.db, datasetId, 'cat', 'Dog', 1);
    expect(listPolicy(s.db, datasetId)).toEqual([]);
  });

  it('refuses weights outside [0, 1] in the database itself', () => {
    expect(() =>
      s.db.prepare("INSERT INTO pair_policy (dataset_id, class_a, class_b, weight) VALUES (?, 'cat', 'Dog', 2)").run(datasetId),
    ).toThrow(/CHECK/);
  });

  it('snapshots only pairs whose classes still exist, and drops the policy with its dataset', () => {
    setPairWeight(s.db, datasetId, 'cat', 'zebra', 0);
    setPairWeight(s.db, datasetId, 'cat', 'cat', 0);
    s.db.prepare("DELETE FROM classes WHERE name = 'zebra'").run();
    expect(getPolicy(s.db, datasetId).pairs.map((p) => [p.a, p.b])).toEqual([['cat', 'cat']]);
    s.db.prepare('DELETE FROM datasets WHERE id = ?').run(datasetId);
    expect(s.db.prepare('SELECT COUNT(*) FROM pair_policy').pluck().get()).toBe(0);
  });

  it('serves the heatmap matrix and imports documents through the operations table, all or nothing', async () => {
    const { ctx } = testContext(s);
    await invokeOperation(operations, 'policy:forbid', { dataset: 'toy', a: 'cat', b: 'Dog' }, ctx);
    const m = (await invokeOperation(operations, 'policy:matrix', { dataset: 'toy' }, ctx)) as any;
    expect(m.classes).toEqual(['Dog', 'cat', 'zebra', 'émeu']);
    expect(m.pairs).toEqual([{ a: 'Dog', b: 'cat', weight: 0, note: null }]);
    await expect(
      invokeOperation(operations, 'policy:import', { dataset: 'toy', policy: [{ a: 'cat', b: 'zebra', weight: 0 }, { a: 'cat', b: 'cat', weight: 7 }] }, ctx),
    ).rejects.toThrow(/pairs\[1\]\.weight: must be a number in \[0, 1\]/);
    expect(listPolicy(s.db, datasetId).map((p) => [p.a, p.b])).toEqual([['Dog', 'cat']]);
    const ok = (await invokeOperation(operations, 'policy:import', { dataset: 'toy', policy: [{ a: 'zebra', b: 'cat', weight: 0.25, note: 'rare' }] }, ctx)) as any;
    expect(ok.pairs).toBe(1);
    expect(listPolicy(s.db, datasetId).map((p) => [p.a, p.b, p.weight, p.note])).toEqual([['cat', 'zebra', 0.25, 'rare']]);
  });
});

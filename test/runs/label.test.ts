/**
 * Run names, tags and notes (issue 15): `runs:label` writes them beside the run (not in its config, so its
 * fingerprint and export are unchanged), `runs list` and `runs show` give them, tags are added and removed
 * without duplicates, and bad ones are refused naming the field, leaving what was saved.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRun } from '../../src-main/training/runs-repository';
import { tempServices } from '../helpers/temp';
import { call } from '../training/fixture';

const services = tempServices();
afterAll(() => services.cleanup());

describe('runs label', () => {
  const config = { seed: 1, mixup: { alpha: 0.4, cutmixAlpha: 0, offEpoch: 8 }, model: { backbone: null }, policy: { pairs: [{ a: 'a', b: 'b', weight: 0 }, { a: 'a', b: 'c', weight: 0.3 }] } };
  const id = createRun(services.db, { datasetId: null, datasetName: 'gone', config, epochsPlanned: 10, classes: ['a', 'b', 'c'], datasetFingerprint: null, pid: 0 } as never);

  it('names, tags and annotates a run; the list and show give them with the config at a glance', async () => {
    await call(services, 'runs:label', { run: id, name: '  α 0.4, off at 8 ', addTags: ['mixup', 'final', 'mixup'], note: 'for the paper\nsecond line' });
    let r = await call<any>(services, 'runs:label', { run: id, addTags: ['keep'], removeTags: ['final'] });
    expect(r).toEqual({ run: { id }, name: 'α 0.4, off at 8', tags: ['mixup', 'keep'], note: 'for the paper\nsecond line' });
    const item = (await call<any[]>(services, 'runs:list', {})).find((x) => x.id === id)!;
    expect(item).toMatchObject({ name: 'α 0.4, off at 8', tags: ['mixup', 'keep'], note: 'for the paper\nsecond line' });
    expect(item.summary).toEqual({ alpha: 0.4, cutmixAlpha: 0, offEpoch: 8, backbone: null, forbidden: 1, weighted: 1 });
    const shown = await call<any>(services, 'runs:show', { run: id });
    expect(shown).toMatchObject({ name: 'α 0.4, off at 8', tags: ['mixup', 'keep'] });
    // Not part of the config.
    expect(shown.config).toEqual(config);
    r = await call<any>(services, 'runs:label', { run: id, name: null, note: null });
    expect(r).toMatchObject({ name: null, note: null, tags: ['mixup', 'keep'] });
  });

  it('refuses a bad name, tag or note naming the field, and keeps what was saved', async () => {
    await call(services, 'runs:label', { run: id, name: 'kept' });
    await expect(call(services, 'runs:label', { run: id, name: 'x\u0007y' })).rejects.toThrow(/name: control characters are not allowed/);
    await expect(call(services, 'runs:label', { run: id, name: 'n'.repeat(121) })).rejects.toThrow(/name: at most 120 characters, got 121/);
    await expect(call(services, 'runs:label', { run: id, addTags: ['two words'] })).rejects.toThrow(/tag 'two words': a tag is one word/);
    await expect(call(services, 'runs:label', { run: id, addTags: [' '] })).rejects.toThrow(/tag: a tag cannot be empty/);
    await expect(call(services, 'runs:label', { run: 999, name: 'x' })).rejects.toThrow(/run 999 does not exist/);
    expect((await call<any>(services, 'runs:show', { run: id })).name).toBe('kept');
  });
});

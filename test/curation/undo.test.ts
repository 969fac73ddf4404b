/**
 * Undo puts back only what the action changed, on the image it changed: an id a rescan freed and gave to a new
 * file is not touched; undoing an exclusion keeps the class a rescan gave the image since; undoing an accepted
 * suggestion leaves a policy the user changed since as it is (and says so).
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir, tempServicesIn } from '../helpers/temp';
import { SAMPLE, call } from '../training/fixture';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function tree(classes: string[], per: number): { root: string; files: Record<string, string[]> } {
  const t = tempDir('mixup-undo-');
  cleanups.push(t.cleanup);
  const files: Record<string, string[]> = {};
  for (const c of classes) {
    mkdirSync(join(t.dir, c), { recursive: true });
    files[c] = readdirSync(join(SAMPLE, c)).sort().slice(0, per);
    for (const f of files[c]!) copyFileSync(join(SAMPLE, c, f), join(t.dir, c, f));
  }
  return { root: t.dir, files };
}

const classOf = async (services: any, path: string) => {
  for (const c of ['bag', 'coat', 'sandal']) {
    const page = await call(services, 'datasets:images', { dataset: 'd', class: c, limit: 1000 });
    if (page.items.some((i: any) => i.path === path)) return c;
  }
  return null;
};

describe('curation undo', () => {
  it('never touches another image that took the id of one a rescan removed', async () => {
    const services = tempServicesIn(cleanups);
    const { root } = tree(['bag', 'coat'], 4);
    await call(services, 'datasets:index', { root, name: 'd' });
    // The newest row (highest id) is relabelled, then its file goes and a new file takes its id.
    const newest = services.db.prepare('SELECT rel_path FROM images ORDER BY id DESC LIMIT 1').pluck().get() as string;
    await call(services, 'datasets:relabel', { dataset: 'd', paths: [newest], class: newest.startsWith('bag/') ? 'coat' : 'bag' });
    rmSync(join(root, newest));
    await call(services, 'datasets:index', { root, name: 'd' });
    copyFileSync(join(SAMPLE, 'bag', readdirSync(join(SAMPLE, 'bag')).sort()[50]!), join(root, 'bag', 'new.png'));
    await call(services, 'datasets:index', { root, name: 'd' });
    expect(services.db.prepare("SELECT COUNT(*) FROM images WHERE rel_path = 'bag/new.png'").pluck().get()).toBe(1);
    await call(services, 'curation:undo', { dataset: 'd' });
    expect(await classOf(services, 'bag/new.png')).toBe('bag');
  });

  it('undoing an exclusion keeps the class a rescan gave the image since', async () => {
    const services = tempServicesIn(cleanups);
    const { root, files } = tree(['bag', 'coat', 'sandal'], 3);
    const target = `bag/${files.bag![0]}`;
    const manifest = (label: string) =>
      ['path,label', ...Object.entries(files).flatMap(([c, fs]) => fs.map((f) => `${c}/${f},${`${c}/${f}` === target ? label : c}`))].join('\n') + '\n';
    writeFileSync(join(root, 'm.csv'), manifest('bag'));
    await call(services, 'datasets:index', { root, name: 'd', manifest: join(root, 'm.csv') });
    await call(services, 'datasets:exclude', { dataset: 'd', paths: [target], reason: 'blurry' });
    writeFileSync(join(root, 'm.csv'), manifest('sandal'));
    await call(services, 'datasets:index', { root, name: 'd', manifest: join(root, 'm.csv') });
    await call(services, 'curation:undo', { dataset: 'd' });
    expect(await classOf(services, target)).toBe('sandal');
  });

  it('undoing an accepted suggestion leaves a policy changed since as it is, and says so', async () => {
    const services = tempServicesIn(cleanups);
    const { root } = tree(['bag', 'coat', 'sandal'], 20);
    await call(services, 'datasets:index', { root, name: 'd' });
    const t = tempDir('mixup-undo-bb-');
    cleanups.push(t.cleanup);
    writeTestBackbone(join(t.dir, 'px.onnx'), { channels: 1, size: [28, 28], dim: 4, pool: 'flatten' });
    await call(services, 'backbones:import', { path: join(t.dir, 'px.onnx'), name: 'px', mean: [0], std: [1], resize: 'fill' });
    const pass = await call(services, 'curation:run', { dataset: 'd', backbone: 'px', map: 'none' });
    const p = pass.pairs[0];
    await call(services, 'curation:accept-pair', { dataset: 'd', a: p.a, b: p.b, weight: 0.3 });
    await call(services, 'policy:weight', { dataset: 'd', a: p.a, b: p.b, weight: 0.6 });
    const r = await call(services, 'curation:undo', { dataset: 'd' });
    expect(r.undone.summary).toMatch(/changed since and was left as it is/);
    const now = await call(services, 'policy:list', { dataset: 'd' });
    expect(now).toEqual([expect.objectContaining({ a: p.a, b: p.b, weight: 0.6 })]);
    const view = await call(services, 'curation:show', { dataset: 'd' });
    expect(view.pairs.find((q: any) => q.a === p.a && q.b === p.b).status).toBe('open');
  }, 60_000);
});

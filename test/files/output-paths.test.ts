/**
 * `dataset export --out DIR` with hostile targets (issue #11 items 2 and 13): a symbolic link is never
 * followed, an existing file or a non-empty folder is never replaced, and a NUL byte or an over-long name is
 * an input error (exit 2) naming --out, not an errno.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir, tempServices } from '../helpers/temp';
import { call, smallDataset } from './fixture';

const t = tempDir('mixup-output-paths-');
const services = tempServices();

beforeAll(async () => {
  await call(services, 'datasets:index', { root: smallDataset(t.dir, 1), name: 'ds' });
}, 60_000);
afterAll(() => {
  services.cleanup();
  t.cleanup();
});

describe('dataset export --out DIR', () => {
  it('refuses a symbolic link as DIR (even to an empty folder) and leaves the link and its target as they were', async () => {
    const target = join(t.dir, 'elsewhere');
    mkdirSync(target);
    const link = join(t.dir, 'out-link');
    symlinkSync(target, link);
    await expect(call(services, 'datasets:export', { dataset: 'ds', out: link })).rejects.toMatchObject({
      kind: 'input',
      message: expect.stringMatching(/^--out .*out-link: is a symbolic link.*links are not followed/),
    });
    expect(readlinkSync(link)).toBe(target);
    expect(readdirSync(target)).toEqual([]);
    expect(readdirSync(t.dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('never replaces an existing file or a non-empty folder', async () => {
    const file = join(t.dir, 'a-file');
    writeFileSync(file, 'keep\n');
    await expect(call(services, 'datasets:export', { dataset: 'ds', out: file })).rejects.toMatchObject({ kind: 'conflict' });
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
    const full = join(t.dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), 'keep\n');
    await expect(call(services, 'datasets:export', { dataset: 'ds', out: full })).rejects.toMatchObject({ kind: 'conflict' });
    expect(readdirSync(full)).toEqual(['x']);
    // An empty folder (a real one) is fine.
    const empty = join(t.dir, 'empty');
    mkdirSync(empty);
    await call(services, 'datasets:export', { dataset: 'ds', out: empty });
    expect(readdirSync(empty).sort()).toEqual(['manifest.csv', 'policy.json']);
    expect(lstatSync(empty).isDirectory()).toBe(true);
  });

  it('a NUL byte or an over-long name in --out is an input error naming --out (exit 2)', async () => {
    await expect(call(services, 'datasets:export', { dataset: 'ds', out: join(t.dir, 'a\u0000b') })).rejects.toMatchObject({
      kind: 'input',
      message: '--out: the path contains a NUL byte',
    });
    const r = await runCli(['dataset', 'export', 'ds', '--out', join(t.dir, 'x'.repeat(300))], { home: services.home, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('mixup-studio: --out: a name in the path is longer than 255 bytes');
  }, 30_000);
});

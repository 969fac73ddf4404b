/**
 * `policy export` / `policy import` with hostile file names (issue #11 items 2, 3, 4, 13): an existing target is
 * never replaced without --force, and even with it only a regular file; a device, FIFO or huge file is refused
 * before it is read; a foreign file's bytes never appear in an error; a 100,000-deep document is an input error.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir, tempServices } from '../helpers/temp';
import { call, fifo, passwdLike, smallDataset } from './fixture';

const t = tempDir('mixup-policy-files-');
const services = tempServices();
const home = services.home;
const cli = (...args: string[]) => runCli(args, { home, timeoutMs: 20_000 });
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

beforeAll(async () => {
  await call(services, 'datasets:index', { root: smallDataset(t.dir), name: 'ds' });
  await call(services, 'policy:forbid', { dataset: 'ds', a: 'coat', b: 'shirt' });
}, 60_000);
afterAll(() => {
  services.cleanup();
  t.cleanup();
});

describe('policy export never replaces what it should not', () => {
  it('refuses an existing file unless --force, then replaces only that regular file', async () => {
    const file = join(t.dir, 'existing.json');
    writeFileSync(file, 'keep me\n');
    await expect(call(services, 'policy:export', { dataset: 'ds', file })).rejects.toMatchObject({
      kind: 'conflict',
      message: `${file} exists; pass --force to replace it`,
    });
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');

    const r = await cli('policy', 'export', 'ds', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/existing\.json exists; pass --force to replace it/);
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');

    const forced = await cli('--json', 'policy', 'export', 'ds', file, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).pairs).toEqual([{ a: 'coat', b: 'shirt', weight: 0, note: null }]);
    expect(lstatSync(file).isFile()).toBe(true);
  }, 60_000);

  it('with --force still refuses a symbolic link, a folder, a FIFO and a device, and leaves them as they were', async () => {
    const target = join(t.dir, 'link-target.txt');
    writeFileSync(target, 'not yours\n');
    const link = join(t.dir, 'link.json');
    symlinkSync(target, link);
    const folder = join(t.dir, 'a-folder');
    mkdirSync(folder);
    const pipe = fifo(join(t.dir, 'pipe.json'));
    for (const [file, what] of [
      [link, /is a symbolic link/],
      [folder, /is a folder/],
      [pipe, /is a FIFO/],
      ['/dev/null', /is a character device/],
    ] as const) {
      await expect(call(services, 'policy:export', { dataset: 'ds', file, force: true }), file).rejects.toMatchObject({
        kind: 'input',
        message: expect.stringMatching(what),
      });
    }
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('not yours\n');
    expect(lstatSync(folder).isDirectory()).toBe(true);
    expect(lstatSync(pipe).isFIFO()).toBe(true);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('a NUL byte or an over-long name in the file is an input error naming the field (exit 2)', async () => {
    await expect(call(services, 'policy:export', { dataset: 'ds', file: join(t.dir, 'a\u0000b.json') })).rejects.toMatchObject({
      kind: 'input',
      message: 'file: the path contains a NUL byte',
    });
    const r = await cli('policy', 'export', 'ds', join(t.dir, `${'n'.repeat(300)}.json`));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('mixup-studio: file: a name in the path is longer than 255 bytes');
  }, 30_000);
});

describe('policy import reads only a bounded regular file and never echoes it', () => {
  it('refuses a FIFO and a device at once, as not a regular file (exit 2)', async () => {
    const pipe = fifo(join(t.dir, 'in-pipe.json'));
    const r = await cli('policy', 'import', 'ds', pipe);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/policy .*in-pipe\.json is a FIFO \(named pipe\), not a regular file/);
    const z = await cli('policy', 'import', 'ds', '/dev/zero');
    expect(z.code).toBe(2);
    expect(z.stderr).toMatch(/policy \/dev\/zero is a character device, not a regular file/);
  }, 60_000);

  it('refuses a file over the policy size cap, naming its size and the cap', async () => {
    const big = join(t.dir, 'big.json');
    writeFileSync(big, `{"pairs": []}${' '.repeat(5 * 1024 * 1024)}`);
    await expect(call(services, 'policy:import', { dataset: 'ds', file: big })).rejects.toMatchObject({
      kind: 'input',
      message: `policy ${big} is 5.0 MiB, over the 4 MiB limit for a policy`,
    });
  });

  it('a foreign (non-JSON) file is refused naming the file and the place, never quoting its bytes', async () => {
    const file = join(t.dir, 'passwd');
    const markers = passwdLike(file);
    const r = await cli('policy', 'import', 'ds', file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`mixup-studio: ${file}: not valid JSON (at line 1, column 1)`);
    for (const m of markers) expect(r.stderr + r.stdout).not.toContain(m);
    // JSON of another kind: named as not a policy, its values not quoted.
    const other = join(t.dir, 'other.json');
    writeFileSync(other, JSON.stringify({ format: 'SECRET-format', pairs: [] }));
    await expect(call(services, 'policy:import', { dataset: 'ds', file: other })).rejects.toMatchObject({
      kind: 'input',
      message: expect.not.stringContaining('SECRET'),
    });
  }, 30_000);

  it('a 100,000-deep document (file or inline) is an input error naming the field, not a stack overflow', async () => {
    const file = join(t.dir, 'deep.json');
    writeFileSync(file, `{"pairs": [{"a": "coat", "b": "shirt", "weight": ${deep(100_000)}}]}`);
    const r = await cli('policy', 'import', 'ds', file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`mixup-studio: ${file}: pairs[0].weight[0]…: nested more than 64 levels deep`);
    const inline = JSON.parse(`{"pairs": [{"a": "coat", "b": "shirt", "weight": ${deep(100_000)}}]}`);
    await expect(call(services, 'policy:import', { dataset: 'ds', policy: inline })).rejects.toMatchObject({
      kind: 'input',
      message: 'policy: pairs[0].weight[0]…: nested more than 64 levels deep',
    });
    // Nothing changed.
    expect((await call<unknown[]>(services, 'policy:list', { dataset: 'ds' })).length).toBe(1);
    expect(existsSync(file)).toBe(true);
  }, 30_000);
});

/**
 * `index --manifest FILE` with hostile files (issue #11 items 3 and 4): a foreign file is refused as "not a
 * manifest" without echoing a byte of it, a device or FIFO is refused before it is read, and a real manifest
 * is read as a stream, row by row, with the same rows and line numbers whatever the chunking.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvRowParser } from '../../src-main/datasets/manifest';
import { runCli } from '../helpers/cli';
import { tempDir, tempServices } from '../helpers/temp';
import { call, fifo, passwdLike, smallDataset } from './fixture';

const t = tempDir('mixup-manifest-files-');
const root = smallDataset(t.dir, 1);
const services = tempServices();
const home = services.home;
const cli = (...args: string[]) => runCli(args, { home, timeoutMs: 20_000 });
const file = (name: string, text: string | Buffer) => {
  const p = join(t.dir, name);
  writeFileSync(p, text);
  return p;
};
afterAll(() => {
  services.cleanup();
  t.cleanup();
});

describe('index --manifest refuses what is not a manifest', () => {
  it('a foreign file (passwd-like) is "not a manifest", exit 2, and none of its lines comes back', async () => {
    const f = join(t.dir, 'shadow');
    const markers = passwdLike(f);
    const r = await cli('--json', 'index', root, '--name', 'foreign', '--manifest', f);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`mixup-studio: ${f} is not a manifest (expected a header with path and label columns)`);
    for (const m of markers) expect(r.stdout + r.stderr).not.toContain(m);
    expect((await cli('--json', 'datasets')).json().map((d: { name: string }) => d.name)).not.toContain('foreign');
  }, 30_000);

  it('a FIFO or a device is refused at once as not a regular file', async () => {
    const pipe = fifo(join(t.dir, 'pipe.csv'));
    const r = await cli('index', root, '--name', 'pipe', '--manifest', pipe);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`mixup-studio: manifest ${pipe} is a FIFO (named pipe), not a regular file`);
    const z = await cli('index', root, '--name', 'zero', '--manifest', '/dev/zero');
    expect(z.code).toBe(2);
    expect(z.stderr.trim()).toBe('mixup-studio: manifest /dev/zero is a character device, not a regular file');
  }, 30_000);

  it('rows that are not CSV (a NUL byte, an unterminated quote, an endless row) refuse the file before the scan, quoting nothing', async () => {
    const header = 'path,label\n';
    const cases: [string, string | Buffer, RegExp][] = [
      ['nul.csv', Buffer.concat([Buffer.from(`${header}bag/a.png,bag\n`), Buffer.from([0x53, 0x45, 0x00, 0x43, 0x0a])]), /line 3: a NUL byte/],
      ['quote.csv', `${header}"SECRET-unterminated,bag\nmore,rows\n`, /line 2: a quote that is never closed/],
      ['long.csv', `${header}${'SECRET'.repeat(20_000)},bag\n`, /line 2: a row longer than 64 KiB/],
    ];
    for (const [name, text, why] of cases) {
      const f = file(name, text);
      const err = await call(services, 'datasets:index', { root, name, manifest: f }).then(
        () => null,
        (e: Error & { kind?: string }) => e,
      );
      expect(err, name).toMatchObject({ kind: 'input', message: expect.stringContaining(`${f} is not a manifest (`) });
      expect(err!.message, name).toMatch(why);
      expect(err!.message, name).not.toContain('SECRET');
      expect(err!.message, name).not.toContain('bag/');
    }
    // Refused before the scan: no dataset was created for any of them.
    const names = (await call<{ name: string }[]>(services, 'datasets:list', {})).map((d) => d.name);
    expect(names.filter((n) => n.endsWith('.csv'))).toEqual([]);
  });

  it('a real manifest bigger than one read chunk is read in full, each bad row reported by its line', async () => {
    const classes = ['bag', 'coat'];
    const rows = ['path,label,split'];
    const missing: number[] = [];
    for (let i = 0; i < 3000; i++) {
      rows.push(`"missing/${i}, with comma.png",${classes[i % 2]},train`);
      missing.push(rows.length);
    }
    const real = (await import('node:fs')).readdirSync(join(root, 'bag'))[0]!;
    rows.push(`bag/${real},bag,val`);
    const f = file('big.csv', `\uFEFF${rows.join('\r\n')}\r\n`);
    const r = await call<{ images: number; skipped: { path: string; reason: string }[] }>(services, 'datasets:index', {
      root,
      name: 'big',
      manifest: f,
    });
    expect(r.images).toBe(1);
    const lines = r.skipped.map((s) => Number(/line (\d+)/.exec(s.reason)?.[1])).sort((a, b) => a - b);
    expect(lines).toEqual(missing);
  }, 60_000);

  it('takes the header columns in any order (docs/datasets.md), and refuses a header naming a column twice', async () => {
    const fs = await import('node:fs');
    const a = fs.readdirSync(join(root, 'bag')).sort()[0]!;
    const c = fs.readdirSync(join(root, 'coat')).sort()[0]!;
    const f = file('order.csv', `Split,label,PATH\nval,bag,bag/${a}\ntrain,coat,coat/${c}\n`);
    const r = await call<{ images: number; skipped: unknown[] }>(services, 'datasets:index', { root, name: 'order', manifest: f });
    expect(r).toMatchObject({ images: 2, skipped: [] });
    const split = services.db.prepare('SELECT split FROM images WHERE rel_path = ?').pluck();
    expect(split.get(`bag/${a}`)).toBe('val');
    expect(split.get(`coat/${c}`)).toBe('train');
    const twice = await cli('index', root, '--name', 'twice', '--manifest', file('twice.csv', `path,path,label\nbag/${a},bag/${a},bag\n`));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('is not a manifest');
  }, 60_000);
});

describe('CsvRowParser (the streaming manifest parser)', () => {
  it('gives the same rows and line numbers whatever the chunk size', () => {
    const text = 'path,label\r\n"a,b.png",x\r\n"multi\nline ""q"".png",y\n\nplain.png , z \r\nlast.png,w';
    const whole = new CsvRowParser();
    const expected = [...whole.push(text), ...whole.end()];
    expect(expected).toEqual([
      { line: 1, cells: ['path', 'label'] },
      { line: 2, cells: ['a,b.png', 'x'] },
      { line: 3, cells: ['multi\nline "q".png', 'y'] },
      { line: 6, cells: ['plain.png ', ' z '] },
      { line: 7, cells: ['last.png', 'w'] },
    ]);
    for (let size = 1; size <= 9; size++) {
      const p = new CsvRowParser();
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)));
      got.push(...p.end());
      expect(got, `chunks of ${size}`).toEqual(expected);
    }
  });
});

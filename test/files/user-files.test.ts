/** core/user-files and core/json-text: the rules every front end's reads and writes of user-named files follow. */
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPathText, parseJsonText, readUserFile, readUserText, writeUserFile } from '../../src-main/core/user-files';
import { tempDir } from '../helpers/temp';
import { fifo } from './fixture';

const t = tempDir('mixup-user-files-');
afterAll(() => t.cleanup());
const opts = { what: 'config', maxBytes: 1024 };

describe('readUserFile', () => {
  it('reads a regular file (through a link), BOM dropped; refuses a folder, FIFO, device, a missing or an oversize file by name', () => {
    const f = join(t.dir, 'a.json');
    writeFileSync(f, '\uFEFF{"a": 1}');
    symlinkSync(f, join(t.dir, 'link.json'));
    expect(readUserText(join(t.dir, 'link.json'), opts)).toBe('{"a": 1}');
    expect(() => readUserFile(t.dir, opts)).toThrow(`config ${t.dir} is a folder, not a regular file`);
    const p = fifo(join(t.dir, 'p'));
    expect(() => readUserFile(p, opts)).toThrow(`config ${p} is a FIFO (named pipe), not a regular file`);
    expect(() => readUserFile('/dev/zero', opts)).toThrow('config /dev/zero is a character device, not a regular file');
    expect(() => readUserFile(join(t.dir, 'nope'), opts)).toThrow(expect.objectContaining({ kind: 'not-found' }));
    writeFileSync(join(t.dir, 'big'), Buffer.alloc(2048, 32));
    expect(() => readUserFile(join(t.dir, 'big'), opts)).toThrow(`config ${join(t.dir, 'big')} is 2 KiB, over the 1 KiB limit for a config`);
  });

  it('an unreadable file is an io error naming the file, not its contents', () => {
    if (process.getuid?.() === 0) return; // root reads any file
    const f = join(t.dir, 'secret');
    writeFileSync(f, 'SECRET');
    chmodSync(f, 0o000);
    expect(() => readUserFile(f, opts)).toThrow(expect.objectContaining({ kind: 'io', message: `cannot read config ${f}: EACCES` }));
  });
});

describe('writeUserFile', () => {
  it('never replaces without force, with force only a regular file, and leaves no temp file behind', () => {
    const dir = join(t.dir, 'w');
    mkdirSync(dir);
    const f = join(dir, 'out.json');
    expect(writeUserFile(f, 'one\n', { what: 'policy' })).toBe(f);
    expect(() => writeUserFile(f, 'two\n', { what: 'policy' })).toThrow(expect.objectContaining({ kind: 'conflict', message: `${f} exists; pass --force to replace it` }));
    expect(readFileSync(f, 'utf8')).toBe('one\n');
    writeUserFile(f, 'three\n', { what: 'policy', force: true });
    expect(readFileSync(f, 'utf8')).toBe('three\n');
    const link = join(dir, 'link.json');
    symlinkSync(f, link);
    expect(() => writeUserFile(link, 'four\n', { what: 'policy', force: true })).toThrow(/is a symbolic link/);
    expect(readlinkSync(link)).toBe(f);
    expect(readFileSync(f, 'utf8')).toBe('three\n');
    expect(() => writeUserFile(join(dir, 'no', 'such.json'), 'x', { what: 'policy' })).toThrow(expect.objectContaining({ kind: 'not-found' }));
    expect(readdirSync(dir).sort()).toEqual(['link.json', 'out.json']);
  });

  it('checkPathText names the field for a NUL byte, an over-long path or name', () => {
    expect(() => checkPathText('a\u0000b', '--out')).toThrow('--out: the path contains a NUL byte');
    expect(() => checkPathText(`/${'a/'.repeat(2100)}x`, '--out')).toThrow('--out: the path is longer than 4096 bytes');
    expect(() => checkPathText(`/tmp/${'é'.repeat(130)}`, 'file')).toThrow('file: a name in the path is longer than 255 bytes');
    expect(checkPathText('/tmp/x.json', 'file')).toBe('/tmp/x.json');
  });
});

describe('parseJsonText', () => {
  it('parses what JSON.parse parses', () => {
    for (const s of ['{}', '[]', ' 1 ', '-0.5e+3', '"a\\u00e9\\n"', 'null', '{"a": [1, {"b": [true, false, null]}], "c": "}"}', '[[[]], {}]']) {
      expect(parseJsonText(s, 'F')).toEqual(JSON.parse(s));
    }
  });

  it('says where a syntax error is, never quoting the text', () => {
    const cases: [string, string][] = [
      ['root:x:0:0:SECRET', 'F: not valid JSON (at line 1, column 1)'],
      ['{\n  "a": SECRET\n}', 'F: not valid JSON (at line 2, column 8)'],
      ['{"a": 1,}', 'F: not valid JSON (at line 1, column 9)'],
      ['{"a": 1} SECRET', 'F: not valid JSON (at line 1, column 10)'],
      ['{"SECRET": ', 'F: not valid JSON (it ends early, at line 1)'],
      ['', 'F: not valid JSON (it ends early, at line 1)'],
    ];
    for (const [text, message] of cases) expect(() => parseJsonText(text, 'F'), text).toThrow(expect.objectContaining({ kind: 'input', message }));
  });

  it('refuses nesting deeper than 64 levels, naming the field, without recursing', () => {
    expect(parseJsonText(`${'['.repeat(64)}${']'.repeat(64)}`, 'F')).toBeDefined();
    expect(() => parseJsonText(`{"a": {"b": ${'['.repeat(100_000)}`, 'F')).toThrow('F: a.b[0][0]…: nested more than 64 levels deep');
  });
});

/**
 * The folder an export writes (issue #11, item 9 and CLI.md's "DIR is created, or may exist and be empty"):
 * hidden `.partial` folders left by killed exports are cleaned by the next export beside them — only ours,
 * only of dead processes — and `--out` is never followed through a symbolic link.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/core/errors';
import { writeFolderAtomically } from '../../src-main/export/export-run';
import { tempDir } from '../helpers/temp';

let tmp: ReturnType<typeof tempDir>;
/** The pid of a process that has exited (and been reaped). */
let deadPid: number;

beforeAll(() => {
  tmp = tempDir('mixup-export-out-');
  const child = spawnSync(process.execPath, ['-e', '0']);
  deadPid = child.pid!;
});

afterAll(() => tmp?.cleanup());

const writeOne = async (dir: string) => writeFileSync(join(dir, 'labels.json'), '["a","b"]\n');

/** A folder as a killed export leaves it: part of an export inside. */
function leftover(parent: string, name: string): string {
  const p = join(parent, name);
  mkdirSync(join(p, 'tfjs'), { recursive: true });
  writeFileSync(join(p, 'tfjs', 'weights.bin.123.tmp'), 'x');
  writeFileSync(join(p, 'labels.json'), '[]');
  return p;
}

describe('stale .partial export folders', () => {
  it('are removed by the next export beside them when their process is dead; live ones, look-alikes and anything else are kept', async () => {
    const parent = join(tmp.dir, 'exports');
    mkdirSync(parent);
    const ts = Date.now() - 3_600_000;
    // Ours, of dead exporters: of this target and of another one in the same parent.
    const staleSame = leftover(parent, `.out.partial-${deadPid}-${ts}`);
    const staleOther = leftover(parent, `.other-run.partial-${deadPid}-${ts + 1}`);
    // Ours, of a live process (the test runner's parent): an export in progress, never touched.
    const live = leftover(parent, `.out.partial-${process.ppid}-${ts}`);
    // Look-alikes: not hidden, no timestamp, a file, a symlink to a folder holding data.
    const keep = [
      leftover(parent, `out.partial-${deadPid}-${ts}`),
      leftover(parent, `.out.partial-${deadPid}`),
      leftover(parent, `.out.partial-x${deadPid}-${ts}`),
      join(parent, `.file.partial-${deadPid}-${ts}`),
      join(parent, `.link.partial-${deadPid}-${ts}`),
      leftover(parent, 'precious'),
    ];
    writeFileSync(keep[3]!, 'a file, not a folder');
    symlinkSync(join(parent, 'precious'), keep[4]!);

    await writeFolderAtomically(join(parent, 'out'), writeOne);

    expect(existsSync(staleSame)).toBe(false);
    expect(existsSync(staleOther)).toBe(false);
    expect(existsSync(join(live, 'labels.json'))).toBe(true);
    for (const p of keep) expect(lstatSync(p), p).toBeTruthy();
    expect(readdirSync(join(parent, 'precious')).sort()).toEqual(['labels.json', 'tfjs']);
    expect(readdirSync(join(parent, 'out'))).toEqual(['labels.json']);
  });

  it('are cleaned even when the export itself is then refused (DIR not empty)', async () => {
    const parent = join(tmp.dir, 'refused');
    mkdirSync(join(parent, 'out'), { recursive: true });
    writeFileSync(join(parent, 'out', 'keep.txt'), 'x');
    const stale = leftover(parent, `.out.partial-${deadPid}-${Date.now()}`);
    await expect(writeFolderAtomically(join(parent, 'out'), writeOne)).rejects.toThrow(/folder is not empty/);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(join(parent, 'out'))).toEqual(['keep.txt']);
  });

  it('a write that fails leaves no .partial folder behind', async () => {
    const parent = join(tmp.dir, 'failing');
    await expect(
      writeFolderAtomically(join(parent, 'out'), async (dir) => {
        await writeOne(dir);
        throw new AppError('io', 'disk full (simulated by the writer)');
      }),
    ).rejects.toThrow(/disk full/);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('--out is never followed through a symbolic link', () => {
  it('refuses a link to an empty folder, naming it, and writes nothing through it', async () => {
    const real = join(tmp.dir, 'real-empty');
    mkdirSync(real);
    const link = join(tmp.dir, 'link-to-empty');
    symlinkSync(real, link);
    const err = await writeFolderAtomically(link, writeOne).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toBe(`--out ${link}: is a symbolic link; name the folder itself (links are not followed)`);
    expect(readdirSync(real)).toEqual([]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(tmp.dir).filter((n) => n.includes('.partial-'))).toEqual([]);
  });

  it('refuses a dangling link, and leaves it as it was', async () => {
    const link = join(tmp.dir, 'dangling');
    symlinkSync(join(tmp.dir, 'nowhere'), link);
    await expect(writeFolderAtomically(link, writeOne)).rejects.toThrow(/dangling: is a symbolic link/);
    expect(existsSync(join(tmp.dir, 'nowhere'))).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe('--out names', () => {
  it('a NUL byte or an over-long name is an input error naming --out, and nothing is written', async () => {
    await expect(writeFolderAtomically(join(tmp.dir, 'a\u0000b'), writeOne)).rejects.toMatchObject({ kind: 'input', message: '--out: the path contains a NUL byte' });
    await expect(writeFolderAtomically(join(tmp.dir, 'x'.repeat(300)), writeOne)).rejects.toMatchObject({
      kind: 'input',
      message: '--out: a name in the path is longer than 255 bytes',
    });
    expect(readdirSync(tmp.dir).filter((n) => n.includes('.partial-'))).toEqual([]);
  });
});

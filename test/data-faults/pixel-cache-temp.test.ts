/**
 * Item 9 of issue #11 (pixel cache part): the pixel cache leaves no temp files behind. A failed cache write
 * removes its own temp file (and does not make the image corrupt: the cache is not the image); the next start
 * of a cache writer removes the temp files of writers that died (a process that no longer exists), and
 * leaves those of a live writer alone (two trainings of one dataset may fill one cache at once).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageStore, type DataItem } from '../../src-main/training/image-store';
import { tempDir } from '../helpers/temp';

const tmp = tempDir('mixup-pxtmp-');
afterAll(() => tmp.cleanup());
const sample = resolve(__dirname, '..', '..', 'resources', 'sample', 'fashion-mnist', 'bag');

function items(n: number, prefix: string): DataItem[] {
  const dir = join(tmp.dir, `img-${prefix}`);
  mkdirSync(dir, { recursive: true });
  return readdirSync(sample)
    .sort()
    .slice(0, n)
    .map((f, i) => {
      copyFileSync(join(sample, f), join(dir, f));
      return { id: i + 1, path: join(dir, f), classIndex: 0, hash: `${prefix}${i}` };
    });
}

const tmpFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')).sort() : [];

describe('pixel cache temp files', () => {
  it('removes the temp files of dead writers at start and keeps those of a live one', async () => {
    const cache = join(tmp.dir, 'cache-a');
    const dir = join(cache, 'pixels', '8x8x1-fill');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const live = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      mkdirSync(join(dir, 'aa'), { recursive: true });
      mkdirSync(join(dir, 'bb'), { recursive: true });
      writeFileSync(join(dir, 'aa', `aa01.u8.${dead}.tmp`), 'half'); // today's name: <file>.<pid>.tmp
      writeFileSync(join(dir, 'bb', `bb02.u8.${dead}.k3j4.tmp`), 'half');
      writeFileSync(join(dir, 'bb', `bb03.u8.${live.pid}.x1y2.tmp`), 'being written');
      writeFileSync(join(dir, 'bb', 'bb04.u8'), Buffer.alloc(64));
      const store = await ImageStore.build(items(3, 'a'), { inputSize: [8, 8], channels: 1, cacheDir: cache, workers: 0 });
      expect(store.items).toHaveLength(3);
      expect(tmpFiles(dir)).toEqual([join('bb', `bb03.u8.${live.pid}.x1y2.tmp`)]);
      expect(existsSync(join(dir, 'bb', 'bb04.u8'))).toBe(true);
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('a cache write that fails removes its temp file and does not mark the image corrupt', async () => {
    const cache = join(tmp.dir, 'cache-b');
    const dir = join(cache, 'pixels', '8x8x1-fill');
    const list = items(3, 'b');
    // The cache file of the second image cannot be written: a (non-empty) folder holds its name, so the
    // rename of the written temp file fails.
    mkdirSync(join(dir, 'b1', 'b1.u8', 'x'), { recursive: true });
    const corrupt: string[] = [];
    const warnings: string[] = [];
    const store = await ImageStore.build(list, {
      inputSize: [8, 8],
      channels: 1,
      cacheDir: cache,
      workers: 0,
      onCorrupt: (it, reason) => corrupt.push(`${it.id}: ${reason}`),
      onWarning: (m: string) => warnings.push(m),
    });
    expect(corrupt).toEqual([]);
    expect(store.items).toHaveLength(3);
    expect(tmpFiles(dir)).toEqual([]);
    expect(warnings.join('\n')).toMatch(/pixel cache/);
    // Without the memory to keep pixels, the cache is needed: the build stops with an io error naming it.
    const err = await ImageStore.build(list, { inputSize: [8, 8], channels: 1, cacheDir: cache, workers: 0, memoryBudgetBytes: 1 }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'io' });
    expect(String(err.message)).toContain(join(dir, 'b1', 'b1.u8'));
    expect(tmpFiles(dir)).toEqual([]);
  });
});

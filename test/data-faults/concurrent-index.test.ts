/**
 * Item 14 of issue #11 (index part): two `index` runs of one dataset at once. One scan of a folder runs at a
 * time; the other is refused at once with a message a user can act on (who holds it, what to do), instead
 * of failing midway with `UNIQUE constraint failed`, and the one that runs completes undisturbed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src-main/datasets/scan';
import { tempDir, tempServices } from '../helpers/temp';
import { sampleSubset } from '../training/fixture';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
const repoRoot = resolve(__dirname, '..', '..');
const cliArgs = (home: string, ...args: string[]) => ['--import', 'tsx', join(repoRoot, 'src-main', 'cli', 'main.ts'), '--home', home, ...args];
const env = { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' };

describe('concurrent index runs of one folder', () => {
  it('refuses a second index while one runs, naming the dataset, the holder pid and what to do; the first completes', async () => {
    const services = tempServices();
    const data = tempDir('mixup-conc-');
    cleanups.push(services.cleanup, data.cleanup);
    sampleSubset(data.dir, 4);
    let second: ReturnType<typeof spawnSync> | undefined;
    const first = await scanDataset(services.db, {
      root: data.dir,
      name: 'cc',
      workers: 0,
      batchSize: 8,
      // Midway through the first scan (one batch committed), a user runs `index` on the same folder.
      afterBatch: () => {
        second ??= spawnSync(process.execPath, cliArgs(services.home, 'index', data.dir), { cwd: repoRoot, encoding: 'utf8', env });
      },
    });
    expect(first.images).toBe(40);
    expect(first.scanState).toBe('complete');
    expect(second!.status).not.toBe(0);
    expect(second!.stderr).toContain(`dataset 'cc': its folder ${data.dir} is being indexed by another process (pid ${process.pid}); try again when it finishes`);
    expect(second!.stderr).not.toMatch(/UNIQUE|SQLITE/);
    // Once it is done, the folder can be indexed again.
    const again = spawnSync(process.execPath, cliArgs(services.home, 'index', data.dir, '--json'), { cwd: repoRoot, encoding: 'utf8', env });
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ images: 40, added: 0, unchanged: 40 });
  }, 60_000);

  it('two CLI index processes started together: each ends with success or that message, never a raw SQLite error', async () => {
    const home = tempDir('mixup-conc-home-');
    const data = tempDir('mixup-conc2-');
    cleanups.push(home.cleanup, data.cleanup);
    sampleSubset(data.dir, 12);
    const run = () =>
      new Promise<{ code: number | null; stderr: string }>((res) => {
        const c = spawn(process.execPath, cliArgs(home.dir, 'index', data.dir, '--name', 'both', '--json'), { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
        c.on('close', (code) => res({ code, stderr }));
      });
    const results = await Promise.all([run(), run()]);
    for (const r of results) {
      if (r.code !== 0) expect(r.stderr).toMatch(/dataset 'both': its folder .* is being indexed by another process \(pid \d+\); try again when it finishes/);
      expect(r.stderr).not.toMatch(/UNIQUE|SQLITE/);
    }
    expect(results.some((r) => r.code === 0)).toBe(true);
  }, 60_000);
});

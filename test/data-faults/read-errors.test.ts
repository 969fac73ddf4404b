/**
 * Item 8 of issue #11: only a decode failure marks an image corrupt. A read error (EACCES, EISDIR, EIO...) is
 * reported as a read error, stored nowhere as corruption, and the next pass tries the file again: the verify
 * pass leaves it unverified, the scan writes no row for it (and keeps no stale verdict).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyDataset } from '../../src-main/datasets/verify';
import { tempDir, tempServices } from '../helpers/temp';
import { call, sampleSubset } from '../training/fixture';
import { isRoot, makeUnreadable } from './faults';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
const repoRoot = resolve(__dirname, '..', '..');

describe('a read error is not corruption', () => {
  it('verify reports an unreadable file as a read error, leaves it unverified and ok, and verifies it on the next pass', async () => {
    const services = tempServices();
    const data = tempDir('mixup-readerr-');
    cleanups.push(services.cleanup, data.cleanup);
    sampleSubset(data.dir, 2);
    await call(services, 'datasets:index', { root: data.dir, name: 'rd' });
    const name = readdirSync(join(data.dir, 'bag')).sort()[0];
    const restore = makeUnreadable(join(data.dir, 'bag', name));
    let first;
    try {
      first = await verifyDataset(services, 'rd', {});
    } finally {
      restore();
    }
    expect(first.corrupt).toEqual([]);
    expect(first.unreadable).toEqual([{ path: `bag/${name}`, reason: expect.stringMatching(/^cannot read: (EACCES|EISDIR)/) }]);
    expect(first.verified).toBe(19);
    const row = () => services.db.prepare('SELECT status, reason, verified FROM images WHERE rel_path = ?').get(`bag/${name}`);
    expect(row()).toEqual({ status: 'ok', reason: null, verified: 0 });
    // Readable again: the next pass takes it.
    const second = await verifyDataset(services, 'rd', {});
    expect(second).toMatchObject({ verified: 1, corrupt: [], unreadable: [] });
    expect(row()).toEqual({ status: 'ok', reason: null, verified: 1 });
  });

  it('the scan does not store an unreadable file as corrupt; the next scan indexes it (EACCES, as an unprivileged user)', () => {
    // Modes do not stop root: the CLI then runs as `nobody`, for whom a mode of 000 is a real EACCES.
    const t = tempDir('mixup-readerr-scan-');
    cleanups.push(t.cleanup);
    const home = join(t.dir, 'home');
    const root = sampleSubset(join(t.dir, 'ds'), 2);
    mkdirSync(home);
    const owner = isRoot ? 65534 : undefined;
    if (owner !== undefined) {
      chmodSync(t.dir, 0o755);
      for (const p of [home, root, ...readdirSync(root).flatMap((c) => [join(root, c), ...readdirSync(join(root, c)).map((f) => join(root, c, f))])]) {
        chownSync(p, owner, owner);
      }
    }
    const index = () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src-main', 'cli', 'main.ts'), '--home', home, 'index', root, '--name', 'sc', '--json'], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1', HOME: t.dir },
        ...(owner !== undefined ? { uid: owner, gid: owner } : {}),
      });
      if (r.status !== 0) throw new Error(`index failed (${r.status}): ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    const name = readdirSync(join(root, 'coat')).sort()[0];
    chmodSync(join(root, 'coat', name), 0o000);
    const first = index();
    expect(first.images).toBe(19);
    expect(first.corrupt).toEqual([]);
    expect(first.skipped).toContainEqual({ path: `coat/${name}`, reason: expect.stringMatching(/^cannot read: EACCES/) });
    chmodSync(join(root, 'coat', name), 0o644);
    const second = index();
    expect(second).toMatchObject({ images: 20, corrupt: [], added: 1 });
  }, 60_000);
});

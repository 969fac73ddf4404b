/**
 * kill -9 during `embeddings` (issue 13): the vectors committed before the kill stay, whole and readable; the
 * database passes its integrity check; the next call computes only what is missing, and every vector then
 * equals what an uninterrupted call gives.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir } from '../helpers/temp';
import { sampleSubset } from '../training/fixture';

const root = resolve(__dirname, '..', '..');
const IMAGES = 10 * 60;

describe('kill -9 while embedding', () => {
  const t = tempDir('mixup-kill-embed-');
  const home = join(t.dir, 'home');
  const clean = join(t.dir, 'clean-home');

  beforeAll(async () => {
    sampleSubset(join(t.dir, 'fm'), 60);
    // Wide enough that 600 single-image batches take a while: the kill lands midway.
    writeTestBackbone(join(t.dir, 'net.onnx'), { channels: 1, size: [96, 96], dim: 256 });
    for (const h of [home, clean]) {
      expect((await runCli(['index', join(t.dir, 'fm'), '--name', 'fm'], { home: h })).code).toBe(0);
      expect((await runCli(['backbone', 'import', join(t.dir, 'net.onnx'), '--name', 'net', '--resize', 'fill'], { home: h })).code).toBe(0);
    }
  }, 120_000);
  afterAll(() => t.cleanup());

  it('keeps the whole vectors committed before the kill and computes only the rest next time', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, 'embeddings', 'fm', '--backbone', 'net', '--batch', '1'], {
      cwd: root,
      env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const db = new Database(join(home, 'mixup-studio.sqlite'), { readonly: true, fileMustExist: true });
    const count = () => db.prepare('SELECT count(*) FROM embeddings').pluck().get() as number;
    let seen = 0;
    for (let i = 0; i < 3000 && seen < 40; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = count();
    }
    child.kill('SIGKILL');
    await exited;
    const kept = count();
    db.close();
    expect(kept, 'the kill landed midway').toBeGreaterThanOrEqual(40);
    expect(kept).toBeLessThan(IMAGES);

    const check = new Database(join(home, 'mixup-studio.sqlite'));
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(check.prepare('SELECT count(*) FROM embeddings WHERE length(vector) <> 256 * 4').pluck().get()).toBe(0);
    check.close();

    const next = await runCli(['embeddings', 'fm', '--backbone', 'net', '--json'], { home });
    expect(next.code, next.stderr).toBe(0);
    const doc = next.json();
    expect(doc.cached).toBe(kept);
    expect(doc.computed + doc.cached).toBe(IMAGES);

    // The same vectors as an uninterrupted run.
    expect((await runCli(['embeddings', 'fm', '--backbone', 'net', '--batch', '1'], { home: clean })).code).toBe(0);
    const read = (h: string) => {
      const d = new Database(join(h, 'mixup-studio.sqlite'), { readonly: true });
      const rows = d.prepare('SELECT hash, hex(vector) AS v FROM embeddings ORDER BY hash').all();
      d.close();
      return rows;
    };
    expect(read(home)).toEqual(read(clean));
  }, 180_000);
});

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processRunning, sweepDeadTemps, tempOwner, tempPathFor } from '../../src-main/core/temp-files';
import { THUMB_TEMP_DIR, thumbName, writeThumbnail } from '../../src-main/datasets/thumbs';
import { tempDir } from '../helpers/temp';
import { SAMPLE } from '../training/fixture';

const t = tempDir('mixup-temps-');
afterAll(() => t.cleanup());

/** A pid that is certainly dead: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** A zombie: `sh` starts a short sleep, then becomes a long sleep that never waits for it. */
async function zombie(): Promise<{ pid: number; stop(): void }> {
  const sh = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 20'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((r) => sh.stdout!.once('data', (d) => r(Number(String(d).trim()))));
  for (let i = 0; i < 50 && !readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z'); i++) await new Promise((r) => setTimeout(r, 50));
  return { pid, stop: () => sh.kill('SIGKILL') };
}

describe('temporary files of killed processes', () => {
  it('names temp files after their owner and reads the owner back', () => {
    const p = tempPathFor('/x/checkpoint.bin');
    expect(p).toBe(`/x/checkpoint.bin.${process.pid}.tmp`);
    expect(tempOwner('checkpoint.bin.123.tmp')).toBe(123);
    expect(tempOwner('a.webp.123.k2j3.tmp')).toBe(123);
    expect(tempOwner('photo.tmp')).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')('counts a zombie (answers kill(pid, 0), never reaped) as not running', async () => {
    const z = await zombie();
    try {
      expect(() => process.kill(z.pid, 0)).not.toThrow();
      expect(processRunning(z.pid)).toBe(false);
      expect(processRunning(process.pid)).toBe(true);
    } finally {
      z.stop();
    }
  });

  it('sweeps the temp files of dead processes only, never those of live ones or other files', async () => {
    const dir = join(t.dir, 'sweep');
    mkdirSync(dir);
    const dead = await deadPid();
    writeFileSync(join(dir, `a.u8.${dead}.tmp`), 'x');
    writeFileSync(join(dir, `b.u8.${process.pid}.tmp`), 'x');
    writeFileSync(join(dir, 'c.u8'), 'x');
    writeFileSync(join(dir, 'notes.tmp'), 'x');
    expect(sweepDeadTemps(dir)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([`b.u8.${process.pid}.tmp`, 'c.u8', 'notes.tmp']);
    expect(sweepDeadTemps(join(t.dir, 'missing'))).toBe(0);
  });

  it('writes thumbnails through THUMBS/.tmp and removes what a killed verify left there', async () => {
    const thumbs = join(t.dir, 'thumbs');
    const tmpDir = join(thumbs, THUMB_TEMP_DIR);
    mkdirSync(tmpDir, { recursive: true });
    const dead = await deadPid();
    const left = join(tmpDir, `ab.webp.${dead}.q1w2.tmp`);
    writeFileSync(left, 'half a thumbnail');
    const cls = readdirSync(SAMPLE).sort()[0];
    const img = readFileSync(join(SAMPLE, cls, readdirSync(join(SAMPLE, cls)).sort()[0]));
    const out = join(thumbs, thumbName('f'.repeat(64)));
    await writeThumbnail(img, out);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(left)).toBe(false);
    expect(readdirSync(tmpDir)).toEqual([]);
  });
});

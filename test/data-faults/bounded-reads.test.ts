/**
 * Item 3 of issue #11 (image part): images are read by a bounded read, never whole when they are huge. A 1 GB
 * sparse `.jpg` (a real JPEG followed by zeros: costs no disk) is marked corrupt as too large by the scan, the
 * verify pass, the media route and training's decode, and none of them takes anywhere near 1 GB of memory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';

const tmp = tempDir('mixup-bounded-');
afterAll(() => tmp.cleanup());

/** A PNG whose structure is valid (chunks, CRCs, IDAT, IEND) but whose header claims `w`×`h` pixels. */
function pngClaiming(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('huge image files are refused by a bounded read, not read whole', () => {
  it('marks a 1 GB sparse JPEG corrupt as too large in scan, verify, media and training, with a peak RSS far below 1 GB', async () => {
    const root = join(tmp.dir, 'ds');
    mkdirSync(join(root, 'a'), { recursive: true });
    const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg().toBuffer();
    for (const name of ['ok.jpg', 'big.jpg', 'grow-media.jpg', 'grow-train.jpg']) writeFileSync(join(root, 'a', name), jpeg);
    // Sparse: the JPEG's own bytes, then zeros up to 1 GB (after EOI, which the structural check accepts).
    truncateSync(join(root, 'a', 'big.jpg'), 1024 * 1024 * 1024);
    writeFileSync(join(root, 'a', 'huge.png'), pngClaiming(100_000, 100_000));
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', resolve(__dirname, 'bounded-read-child.ts'), join(tmp.dir, 'home'), root, 'a/grow-media.jpg,a/grow-train.jpg'],
      { encoding: 'utf8', cwd: resolve(__dirname, '..', '..'), maxBuffer: 1 << 22 },
    );
    const r = JSON.parse(out);
    const scan = Object.fromEntries(r.scan.map((x: any) => [x.rel, x]));
    expect(scan['a/ok.jpg'].status).toBe('ok');
    expect(scan['a/big.jpg']).toMatchObject({ status: 'corrupt', reason: 'file too large (1024 MB, the limit is 256 MB)' });
    // The pixel count is checked from the header too, before anything would decode it.
    expect(scan['a/huge.png'].status).toBe('corrupt');
    expect(scan['a/huge.png'].reason).toMatch(/^image too large \(100000×100000 pixels/);
    expect(r.media).toMatch(/file too large \(1024 MB, the limit is 256 MB\)/);
    const after = Object.fromEntries(r.afterVerify.map((x: any) => [x.rel, x]));
    expect(after['a/grow-train.jpg']).toMatchObject({ status: 'corrupt', reason: 'file too large (1024 MB, the limit is 256 MB)' });
    expect(after['a/grow-media.jpg'].status).toBe('corrupt');
    expect(after['a/ok.jpg'].status).toBe('ok');
    expect(r.train).toEqual({ kept: 0, corrupt: ['file too large (1024 MB, the limit is 256 MB)'] });
    expect(r.predict).toMatch(/file too large \(1024 MB, the limit is 256 MB\)/);
    // A memory bound, not a speed one: reading any of these files whole would take 1 GB.
    expect(r.maxRssMiB).toBeLessThan(600);
  }, 60_000);
});

/**
 * The media route serves an image only as it was indexed (issue #11, found by review): through the real serve
 * bridge and `resolveMedia` over a real scanned dataset, a file swapped since the scan for a FIFO, a link to a
 * file outside the dataset or a device is refused at once, and an image marked corrupt is never sent.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../src-main/api/operations';
import { resolveMedia } from '../../src-main/datasets/media';
import { startServer, type RunningServer } from '../../src-main/serve/server';
import { tempDir, tempServices } from '../helpers/temp';
import { call, sampleSubset } from '../training/fixture';

const services = tempServices();
const data = tempDir('mixup-media-');
const renderer = tempDir('mixup-media-page-');
const secret = join(tempDir('mixup-media-outside-').dir, 'secret.txt');
let server: RunningServer;
let ids: Map<string, number>;

beforeAll(async () => {
  sampleSubset(data.dir, 3);
  writeFileSync(join(data.dir, 'bag', 'not-an-image.png'), 'hunter2-my-secret-token');
  writeFileSync(secret, 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(renderer.dir, 'index.html'), '<!doctype html><title>t</title>');
  await call(services, 'datasets:index', { root: data.dir, name: 'media' });
  ids = new Map(
    (services.db.prepare('SELECT rel_path AS rel, id FROM images').all() as { rel: string; id: number }[]).map((r) => [r.rel, r.id]),
  );
  server = await startServer({ services, operations, rendererDir: renderer.dir, port: 0, resolveMedia });
}, 60_000);
afterAll(async () => {
  await server?.close();
  services.cleanup();
  data.cleanup();
  renderer.cleanup();
});

const get = (path: string) =>
  fetch(`http://127.0.0.1:${server.port}${path}`, {
    headers: { cookie: `mixup_token_${server.port}=${new URL(server.url).searchParams.get('token')}` },
    signal: AbortSignal.timeout(5000),
  });
const bag = () => readdirSync(join(data.dir, 'bag')).filter((n) => n !== 'not-an-image.png').sort();

describe('the original image', () => {
  it('is served byte for byte while it is the file that was indexed', async () => {
    const name = bag()[0]!;
    const r = await get(`/media/image/${ids.get(`bag/${name}`)}`);
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(join(data.dir, 'bag', name)))).toBe(true);
  });

  it('is not served when marked corrupt, and its reason quotes none of its bytes', async () => {
    const id = ids.get('bag/not-an-image.png')!;
    const r = await get(`/media/image/${id}`);
    expect(r.status).toBe(404);
    const text = await r.text();
    expect(text).not.toContain('hunter2');
    const reason = services.db.prepare('SELECT reason FROM images WHERE id = ?').pluck().get(id) as string;
    expect(reason).toMatch(/^not an image/);
    expect(reason).not.toContain('hunter');
  });

  it('swapped for a link to a file outside the dataset, or to a device, is refused and nothing of it is sent', async () => {
    const [a, b] = bag();
    rmSync(join(data.dir, 'bag', a!));
    symlinkSync(secret, join(data.dir, 'bag', a!));
    const r = await get(`/media/image/${ids.get(`bag/${a}`)}`);
    expect(r.status).toBe(409);
    const body = await r.text();
    expect(body).not.toContain('root:x');
    expect(body).toContain('changed since it was indexed');
    rmSync(join(data.dir, 'bag', b!));
    symlinkSync('/dev/zero', join(data.dir, 'bag', b!));
    const z = await get(`/media/image/${ids.get(`bag/${b}`)}`);
    expect(z.status).toBeGreaterThanOrEqual(400);
    expect((await z.text()).length).toBeLessThan(2000);
  });

  it('swapped for a FIFO is refused at once, however often it is asked for, and serve goes on answering', async () => {
    const c = bag()[2]!;
    rmSync(join(data.dir, 'bag', c));
    execFileSync('mkfifo', [join(data.dir, 'bag', c)]);
    // More requests than libuv has threads: a blocking open of the FIFO would take every one of them.
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(`/media/image/${ids.get(`bag/${c}`)}`)));
    for (const r of answers) expect(r.status).toBeGreaterThanOrEqual(400);
    const thumb = await get(`/media/thumb/${ids.get(`coat/${readdirSync(join(data.dir, 'coat')).sort()[0]}`)}`);
    expect(thumb.status).toBe(200);
    const list = await fetch(`http://127.0.0.1:${server.port}/api/call/datasets:list`, {
      method: 'POST',
      headers: { 'x-mixup-token': new URL(server.url).searchParams.get('token')!, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(5000),
    });
    expect(list.status).toBe(200);
  });
});

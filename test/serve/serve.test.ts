/**
 * The `serve` bridge, for real: an HTTP + WebSocket server on a free loopback port over a real SQLite home,
 * driven with fetch, the `ws` client and the page's own client module (the browser transport).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { defineOp, type Operation } from '../../src-main/api/contract';
import { AppError } from '../../src-main/core/errors';
import { operations } from '../../src-main/api/operations';
import { startServer, type RunningServer } from '../../src-main/serve/server';
import { parseMediaPath, resolveStaticFile } from '../../src-main/api/page-files';
import { tempServices } from '../helpers/temp';

// The page's client module (DOM-typed, so outside the Node tsconfig: loaded by path, typed here).
interface PageClient {
  call<T>(name: string, input?: unknown): Promise<T>;
  start<T>(name: string, input?: unknown): { id: string; result: Promise<T>; cancel(): void };
  on(topic: string, handler: (data: unknown, callId?: string) => void): () => void;
  close(): void;
}
const clientPath = '../../src-renderer/src/lib/api/client';
async function createBrowserClient(opts: { baseUrl: string; token: string; WebSocket: unknown }): Promise<PageClient> {
  const mod = (await import(/* @vite-ignore */ clientPath)) as { createBrowserClient(o: unknown): PageClient };
  return mod.createBrowserClient(opts);
}

// A fake renderer build: the real one is exercised by serve-page.test.ts in Chromium.
function fakeRenderer(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mixup-renderer-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>MixUp Studio</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log("app")');
  return dir;
}

// Real operations plus two test-only ones that emit events and wait for cancellation.
function opsWithTestOps(): ReadonlyMap<string, Operation> {
  const map = new Map(operations);
  map.set(
    'test:count',
    defineOp({
      name: 'test:count',
      summary: 'emits n progress events',
      input: z.object({ n: z.number().int().min(1).max(100) }).strict(),
      run: async (ctx, input) => {
        for (let i = 1; i <= input.n; i++) {
          // A topic of the test's own, outside the contract's EventMap.
          (ctx.emit as (topic: string, data: unknown) => void)('count.progress', { done: i, total: input.n });
          await new Promise((r) => setTimeout(r, 5));
        }
        return { counted: input.n };
      },
    }),
  );
  map.set(
    'test:wait',
    defineOp({
      name: 'test:wait',
      summary: 'runs until cancelled',
      input: z.object({}).strict(),
      run: (ctx) =>
        new Promise((_, reject) => {
          (ctx.emit as (topic: string, data: unknown) => void)('wait.started', {});
          const t = setTimeout(() => reject(new AppError('internal', 'never cancelled')), 20_000);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new AppError('cancelled', 'test:wait cancelled'));
          });
        }),
    }),
  );
  map.set(
    'test:fail',
    defineOp({
      name: 'test:fail',
      summary: 'fails like a real op',
      input: z.object({ dataset: z.number() }).strict(),
      run: (_ctx, input) => {
        throw new AppError('not-found', `Class 'cat' is not in dataset ${input.dataset}`);
      },
    }),
  );
  return map;
}

describe('serve bridge', () => {
  let services: ReturnType<typeof tempServices>;
  let server: RunningServer;
  let renderer: string;
  let base: string;
  let outside: string;

  beforeAll(async () => {
    services = tempServices();
    renderer = fakeRenderer();
    outside = mkdtempSync(join(tmpdir(), 'mixup-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(renderer, 'assets', 'link.txt'));
    server = await startServer({
      services,
      operations: opsWithTestOps(),
      rendererDir: renderer,
      port: 0,
      resolveMedia: async (_s, kind, id) => {
        if (id !== 7) throw new AppError('not-found', `no image with id ${id}`);
        return { data: readFileSync(join(renderer, 'assets', 'app.js')), contentType: kind === 'thumb' ? 'image/webp' : 'image/png' };
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    services?.cleanup();
    rmSync(renderer, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('prints a loopback URL with a 64-hex-digit token and listens on 127.0.0.1 only', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
  });

  it('refuses every route without the token (401) and with a wrong one (403): page, assets, API, media, socket', async () => {
    const routes: Array<[string, RequestInit?]> = [
      ['/'],
      ['/index.html'],
      ['/assets/app.js'],
      ['/media/thumb/7'],
      ['/media/image/7'],
      ['/api/call/system:info', { method: 'POST', body: '{}' }],
      ['/api/cancel/x', { method: 'POST' }],
      ['/nonexistent'],
    ];
    for (const [path, init] of routes) {
      const none = await fetch(`${base}${path}`, init);
      expect(none.status, `${path} without token`).toBe(401);
      const bad = await fetch(`${base}${path}${path.startsWith('/api') ? '' : '?token=' + 'f'.repeat(64)}`, {
        ...init,
        headers: { 'x-mixup-token': 'f'.repeat(64), cookie: `mixup_token_${server.port}=${'f'.repeat(64)}` },
      });
      expect(bad.status, `${path} with a wrong token`).toBe(403);
    }
    for (const url of [`ws://127.0.0.1:${server.port}/api/ws`, `ws://127.0.0.1:${server.port}/api/ws?token=${'0'.repeat(64)}`]) {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
      expect(status, url).toBeGreaterThanOrEqual(401);
      expect(status, url).toBeLessThanOrEqual(403);
    }
  });

  it('serves the page with a strict CSP and an HttpOnly SameSite cookie that then lets asset requests through', async () => {
    const page = await fetch(`${base}/?token=${server.token}`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain(`ws://127.0.0.1:${server.port}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const cookie = page.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const asset = await fetch(`${base}/assets/app.js`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(asset.status).toBe(200);
    expect(await asset.text()).toBe('console.log("app")');
  });

  it('never serves a file outside the renderer folder: traversal, encoded dots, backslashes and outward symlinks all 404', async () => {
    const auth = { headers: { cookie: `mixup_token_${server.port}=${server.token}` } };
    for (const path of ['/assets/../../../../etc/passwd', '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/assets/..%5c..%5cetc', '/assets/link.txt', '/%00index.html']) {
      const res = await fetch(`${base}${path}`, auth);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('secret');
    }
    expect(resolveStaticFile(renderer, '/assets/link.txt')).toBeNull();
    expect(resolveStaticFile(renderer, '/assets/../index.html')).toBeNull();
    expect(resolveStaticFile(renderer, '/')).toBe(join(renderer, 'index.html'));
  });

  it('refuses a request whose Host is not a loopback name (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/api/call/system:info', method: 'POST', headers: { host: `evil.example:${server.port}`, 'x-mixup-token': server.token } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });

  it('calls the real operations table over HTTP, the cookie alone is not enough for the API', async () => {
    const res = await fetch(`${base}/api/call/system:info`, { method: 'POST', headers: { 'x-mixup-token': server.token }, body: '{}' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { home: string } };
    expect(body.result.home).toBe(services.home);
    const cookieOnly = await fetch(`${base}/api/call/system:info`, { method: 'POST', headers: { cookie: `mixup_token_${server.port}=${server.token}` }, body: '{}' });
    expect(cookieOnly.status).toBe(401);
  });

  it('returns error envelopes with a status per kind: bad input names the field, unknown op, bad JSON', async () => {
    const post = (op: string, body: string) => fetch(`${base}/api/call/${op}`, { method: 'POST', headers: { 'x-mixup-token': server.token }, body });
    const bad = await post('test:count', '{"n": "three"}');
    expect(bad.status).toBe(400);
    const env = ((await bad.json()) as { error: { kind: string; message: string } }).error;
    expect(env.kind).toBe('input');
    expect(env.message).toMatch(/test:count: n:/);
    const unknown = await post('nope:nothing', '{}');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/unknown operation 'nope:nothing'/);
    const notJson = await post('system:info', '{oops');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(/not JSON/);
  });

  it('serves media by image id only, through resolveMedia; anything but /media/<thumb|image>/<id> is 404', async () => {
    const q = `?token=${server.token}`;
    const ok = await fetch(`${base}/media/thumb/7${q}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/webp');
    const missing = await fetch(`${base}/media/image/8${q}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe('no image with id 8');
    for (const p of ['/media/thumb/..%2f..%2fetc%2fpasswd', '/media/thumb/-1', '/media/file/7', '/media/thumb/7/../../x', '/media/thumb/1e3']) {
      expect((await fetch(`${base}${p}${q}`)).status, p).toBe(404);
    }
    expect(parseMediaPath('/media/thumb/12')).toEqual({ kind: 'thumb', imageId: 12 });
    expect(parseMediaPath('/media/thumb/../12')).toBeNull();
  });

  it("the page's browser client gets results, rebuilt errors, events tagged with the call id, and cancels", async () => {
    const api = await createBrowserClient({ baseUrl: base, token: server.token, WebSocket });
    try {
      const info = await api.call<{ home: string }>('system:info');
      expect(info.home).toBe(services.home);
      await expect(api.call('test:fail', { dataset: 3 })).rejects.toMatchObject({ name: 'AppError', kind: 'not-found', message: "Class 'cat' is not in dataset 3" });

      const seen: Array<{ data: unknown; callId?: string }> = [];
      // Subscribing right after start() (as the screens do) still sees the call's very first event.
      const job = api.start<{ counted: number }>('test:count', { n: 5 });
      const off = api.on('count.progress', (data, callId) => seen.push({ data, callId }));
      expect(await job.result).toEqual({ counted: 5 });
      await expect.poll(() => seen.length, { timeout: 5000 }).toBe(5);
      expect(seen.map((s) => s.callId)).toEqual(Array(5).fill(job.id));
      expect(seen.at(-1)!.data).toEqual({ done: 5, total: 5 });
      off();

      const started = new Promise<void>((r) => {
        const stop = server.calls.onEvent((ev) => ev.topic === 'wait.started' && (stop(), r()));
      });
      const waiting = api.start('test:wait', {});
      await started;
      expect(server.calls.list().map((c) => c.id)).toContain(waiting.id);
      waiting.cancel();
      await expect(waiting.result).rejects.toMatchObject({ kind: 'cancelled' });
      expect(server.calls.list()).toEqual([]);
    } finally {
      api.close();
    }
  });

  it('runs start/cancel messages over the WebSocket and keeps a call running when its socket closes', async () => {
    const url = `ws://127.0.0.1:${server.port}/api/ws?token=${server.token}`;
    const ws = new WebSocket(url);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ type: 'start', id: 'w1', name: 'test:count', input: { n: 3 } }));
    await expect.poll(() => messages.find((m) => m.type === 'result'), { timeout: 5000 }).toBeTruthy();
    expect(messages.filter((m) => m.type === 'event' && m.callId === 'w1')).toHaveLength(3);
    expect(messages.find((m) => m.type === 'result')).toEqual({ type: 'result', id: 'w1', result: { counted: 3 } });

    ws.send(JSON.stringify({ type: 'start', id: 'w2', name: 'test:wait', input: {} }));
    await expect.poll(() => server.calls.list().map((c) => c.id), { timeout: 5000 }).toContain('w2');
    ws.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.calls.list().map((c) => c.id), 'the call outlives its socket').toContain('w2');
    const ws2 = new WebSocket(url);
    await new Promise((r) => ws2.on('open', r));
    ws2.send(JSON.stringify({ type: 'cancel', id: 'w2' }));
    await expect.poll(() => server.calls.list().length, { timeout: 5000 }).toBe(0);
    ws2.close();
  });

  it('keeps an HTTP call running when the browser drops the request, until it is cancelled by id', async () => {
    const aborter = new AbortController();
    const dropped = fetch(`${base}/api/call/test:wait`, {
      method: 'POST',
      headers: { 'x-mixup-token': server.token, 'x-mixup-call-id': 'h1' },
      body: '{}',
      signal: aborter.signal,
    }).catch((e: Error) => e);
    await expect.poll(() => server.calls.list().map((c) => c.id), { timeout: 5000 }).toContain('h1');
    aborter.abort();
    expect(await dropped).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.calls.list().map((c) => c.id), 'the call outlives its request').toContain('h1');
    const res = await fetch(`${base}/api/cancel/h1`, { method: 'POST', headers: { 'x-mixup-token': server.token } });
    expect(await res.json()).toEqual({ result: { cancelled: true } });
    await expect.poll(() => server.calls.list().length, { timeout: 5000 }).toBe(0);
  });

  it('refuses a socket from a foreign Origin even with the token', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${server.token}`, { headers: { origin: 'http://evil.example' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(403);
  });
});

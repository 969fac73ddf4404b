/**
 * The Electron main process (src-main/electron/*), driven through a FAKE `electron` module
 * (./fake-electron.ts: the real binary cannot run on these machines) over a real SQLite home, the real
 * operations table and, for media, a real dataset indexed from the sample images.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineOp, type Operation } from '../../src-main/api/contract';
import { AppError } from '../../src-main/core/errors';
import { operations } from '../../src-main/api/operations';
import { resolveMedia } from '../../src-main/datasets/media';
import { startApp, type AppHandle, type ElectronModule } from '../../src-main/electron/app';
import { APP_INDEX_URL } from '../../src-main/electron/protocol';
import { WINDOW_STATE_KEY } from '../../src-main/electron/window-state';
import { CHANNEL_CANCEL, CHANNEL_EVENT, CHANNEL_PICK_FOLDER } from '../../src-main/api/bridge';
import { fakeEvent, makeFakeElectron, type FakeElectron, type FakeWindow } from './fake-electron';

const repo = resolve(__dirname, '..', '..');
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A package root with a built renderer, and a secret file beside it that must never be served. */
function fakeRoot(): string {
  const root = tempFolder('mixup-app-root-');
  mkdirSync(join(root, 'out', 'renderer', 'assets'), { recursive: true });
  mkdirSync(join(root, 'out', 'preload'), { recursive: true });
  writeFileSync(join(root, 'out', 'renderer', 'index.html'), '<!doctype html><title>MixUp Studio</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(root, 'out', 'renderer', 'assets', 'app.js'), 'export {}');
  writeFileSync(join(root, 'out', 'preload', 'index.js'), '');
  writeFileSync(join(root, 'out', 'secret.txt'), 'TOP SECRET');
  return root;
}

/** The real operations plus a long job standing in for a training run (it waits until cancelled). */
function opsWithLongJob(): Map<string, Operation> {
  const map = new Map(operations);
  map.set(
    'runs:train',
    defineOp({
      name: 'runs:train',
      summary: 'stand-in for a long training run',
      input: z.object({ seconds: z.number().default(20) }).strict(),
      run: (ctx, input) =>
        new Promise((resolveRun, reject) => {
          // A stand-in's loose payload, outside the contract's EventMap.
          (ctx.emit as (topic: string, data: unknown) => void)('train.progress', { done: 1, total: 100 });
          const t = setTimeout(() => resolveRun({ status: 'completed' }), input.seconds * 1000);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new AppError('cancelled', 'training cancelled'));
          });
        }),
    }),
  );
  return map;
}

interface Started {
  fake: FakeElectron;
  handle: AppHandle;
  win: FakeWindow;
  home: string;
  root: string;
  invoke(channel: string, payload?: unknown, frame?: { url: string; parent?: unknown }): Promise<any>;
}

async function start(opts: { home?: string; root?: string; ops?: ReadonlyMap<string, Operation>; fake?: FakeElectron; env?: NodeJS.ProcessEnv } = {}): Promise<Started> {
  const fake = opts.fake ?? makeFakeElectron();
  const home = opts.home ?? tempFolder('mixup-app-home-');
  const root = opts.root ?? fakeRoot();
  const handle = startApp(fake as unknown as ElectronModule, {
    operations: opts.ops ?? operations,
    resolveMedia,
    home,
    root,
    env: opts.env ?? {},
    handleSignals: false,
  });
  cleanups.push(() => handle.services()?.close());
  fake.ready();
  await handle.ready;
  const win = fake.windows.at(-1)!;
  const invoke = async (channel: string, payload?: unknown, frame = { url: APP_INDEX_URL, parent: null as unknown }) => {
    const fn = fake.ipcMain.handlers.get(channel);
    if (!fn) throw new Error(`no handler for ${channel}`);
    return fn({ sender: win.webContents, senderFrame: { url: frame.url, parent: frame.parent ?? null } }, payload);
  };
  return { fake, handle, win, home, root, invoke };
}

describe('Electron main process (with a fake electron module)', () => {
  it('creates the window sandboxed, context-isolated, without Node, titled "MixUp Studio", hidden until ready-to-show', async () => {
    const { fake, win } = await start();
    expect(fake.app.sandboxEnabled).toBe(true);
    const wp = win.options.webPreferences;
    expect(wp.sandbox).toBe(true);
    expect(wp.contextIsolation).toBe(true);
    expect(wp.nodeIntegration).toBe(false);
    expect(wp.nodeIntegrationInWorker).toBe(false);
    expect(wp.webSecurity).toBe(true);
    expect(wp.webviewTag).toBe(false);
    expect(wp.preload).toMatch(/out[\\/]preload[\\/]index\.js$/);
    expect(win.options.title).toBe('MixUp Studio');
    expect(win.options.show).toBe(false);
    expect(win.loaded).toEqual([APP_INDEX_URL]);
    expect(win.visible).toBe(false);
    win.emit('ready-to-show');
    expect(win.visible).toBe(true);
    // The page's <title> never replaces the app's name.
    const e = fakeEvent();
    win.emit('page-title-updated', e, 'Something else');
    expect(e.defaultPrevented).toBe(true);
    expect(win.title).toBe('MixUp Studio');
  });

  it('serves the page with a strict CSP and denies every permission request', async () => {
    const { fake } = await start();
    expect(fake.protocol.privileged).toEqual([{ scheme: 'mixup', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    const res = await fake.protocol.fetch(APP_INDEX_URL);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/unsafe-eval/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(await res.text()).toContain('<title>MixUp Studio</title>');
    const js = await fake.protocol.fetch('mixup://app/assets/app.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    let granted: boolean | undefined;
    fake.session.defaultSession.permissionRequest!(null, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
    expect(fake.session.defaultSession.permissionCheck!()).toBe(false);
  });

  it('denies new windows and navigation away from the app, in the window and in any other web contents', async () => {
    const { fake, win } = await start();
    const wc = win.webContents;
    expect(wc.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    expect(wc.windowOpenHandler!({ url: 'mixup://app/index.html' })).toEqual({ action: 'deny' });
    expect(wc.tryEvent('will-navigate', 'https://evil.example/')).toBe(true);
    expect(wc.tryEvent('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(wc.tryEvent('will-redirect', 'http://127.0.0.1:9/')).toBe(true);
    expect(wc.tryEvent('will-navigate', 'mixup://app/index.html#/runs')).toBe(false);
    expect(wc.tryEvent('will-attach-webview', 'mixup://app/')).toBe(true);
    const other = new (await import('./fake-electron')).FakeWebContents();
    fake.app.emit('web-contents-created', fakeEvent(), other);
    expect(other.windowOpenHandler!({ url: 'https://x.example' })).toEqual({ action: 'deny' });
    expect(other.tryEvent('will-navigate', 'https://evil.example/')).toBe(true);
  });

  it('keeps a single instance: a second start quits at once, and the first window comes to the front', async () => {
    const first = await start();
    first.win.minimized = true;
    first.fake.app.emit('second-instance', fakeEvent(), ['mixup-studio'], '/');
    expect(first.win.minimized).toBe(false);
    expect(first.win.focused).toBe(1);

    const fake2 = makeFakeElectron({ lock: false });
    const second = startApp(fake2 as unknown as ElectronModule, { operations, resolveMedia, home: first.home, root: first.root, env: {}, handleSignals: false });
    expect(second.primary).toBe(false);
    expect(fake2.app.quitCalls).toBe(1);
    fake2.ready();
    await second.ready;
    expect(fake2.windows).toHaveLength(0);
    expect(fake2.ipcMain.handlers.size).toBe(0);
  });

  it('registers every operation of the contract exactly once, plus cancel and pickFolder, and nothing else', async () => {
    const { fake } = await start();
    const channels = [...fake.ipcMain.handlers.keys()].sort();
    expect(channels).toEqual([...operations.keys(), CHANNEL_CANCEL, CHANNEL_PICK_FOLDER].sort());
    expect(operations.size).toBeGreaterThan(5);
    // A second registration would throw in Electron (and in the fake): starting registered each one once.
  });

  it('refuses IPC from anything but the top frame of our own page, answering an envelope, never throwing', async () => {
    const { invoke } = await start();
    const ok = await invoke('system:info', { input: {} });
    expect(ok.result.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const frame of [
      { url: 'https://evil.example/' },
      { url: 'file:///tmp/page.html' },
      { url: 'mixup://evil/index.html' },
      { url: 'http://localhost:5173/' }, // a dev server URL is trusted only when electron-vite started one
      { url: APP_INDEX_URL, parent: {} }, // an iframe, even of our own origin
    ]) {
      const res = await invoke('system:info', { input: {} }, frame);
      expect(res.error, JSON.stringify(frame)).toMatchObject({ kind: 'input', message: expect.stringMatching(/did not come from the MixUp Studio page/) });
      expect(res.result).toBeUndefined();
    }
  });

  it('returns validation and domain errors as {name, message, kind} envelopes naming the field or value', async () => {
    const { invoke } = await start();
    const bad = await invoke('datasets:show', { input: { dataset: { nested: true } } });
    expect(bad.error.kind).toBe('input');
    expect(bad.error.message).toMatch(/^datasets:show: dataset:/);
    const missing = await invoke('datasets:show', { input: { dataset: 'no-such-set' } });
    expect(missing.error).toMatchObject({ kind: 'not-found', message: expect.stringContaining('no-such-set') });
    const extra = await invoke('system:info', { input: { surprise: 1 } });
    expect(extra.error.kind).toBe('input');
    expect(extra.error.message).toMatch(/surprise/);
  });

  it('pushes progress events to the page tagged with the call id, and the cancel channel aborts that call', async () => {
    const { invoke, win } = await start({ ops: opsWithLongJob() });
    const pending = invoke('runs:train', { input: { seconds: 30 }, callId: 'job-1' });
    await new Promise((r) => setTimeout(r, 20));
    expect(win.webContents.sent).toContainEqual({ channel: CHANNEL_EVENT, message: { topic: 'train.progress', data: { done: 1, total: 100 }, callId: 'job-1' } });
    expect(await invoke(CHANNEL_CANCEL, 'job-1')).toEqual({ result: { cancelled: true } });
    expect(await pending).toEqual({ error: expect.objectContaining({ kind: 'cancelled' }) });
    expect(await invoke(CHANNEL_CANCEL, 'job-1')).toEqual({ result: { cancelled: false } });
  });

  it('opens the native folder dialog for app:pickFolder and answers null when it is cancelled', async () => {
    const { invoke, fake } = await start();
    fake.dialog.nextFolder = '/data/flowers';
    expect(await invoke(CHANNEL_PICK_FOLDER)).toEqual({ result: '/data/flowers' });
    expect(fake.dialog.openDialogs[0]!.properties).toEqual(['openDirectory']);
    fake.dialog.nextFolder = null;
    expect(await invoke(CHANNEL_PICK_FOLDER)).toEqual({ result: null });
  });

  it('serves media by image id from SQLite through mixup://, and no URL reaches a file outside the renderer', async () => {
    const data = tempFolder('mixup-app-data-');
    for (const cls of ['bag', 'coat']) {
      const src = join(repo, 'resources', 'sample', 'fashion-mnist', cls);
      mkdirSync(join(data, cls));
      for (const f of readdirSync(src).slice(0, 3)) cpSync(join(src, f), join(data, cls, f));
    }
    const { invoke, fake } = await start();
    const indexed = await invoke('datasets:index', { input: { root: data, name: 'tiny' } });
    expect(indexed.error).toBeUndefined();
    const page = await invoke('datasets:images', { input: { dataset: 'tiny', offset: 0, limit: 10 } });
    const id = page.result.items[0].id as number;
    const thumb = await fake.protocol.fetch(`mixup://app/media/thumb/${id}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    expect(Buffer.from(await thumb.arrayBuffer()).subarray(8, 12).toString()).toBe('WEBP');
    const image = await fake.protocol.fetch(`mixup://media/image/${id}`);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect((await fake.protocol.fetch('mixup://app/media/thumb/999999')).status).toBe(404);

    for (const url of [
      'mixup://app/../secret.txt',
      'mixup://app/%2e%2e/secret.txt',
      'mixup://app/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'mixup://app/..%5csecret.txt',
      'mixup://app/media/thumb/..%2f..%2fsecret.txt',
      'mixup://media/thumb/../../out/secret.txt',
      `mixup://app/media/thumb/${id}%2f..%2f..`,
      'mixup://app//etc/passwd',
      'mixup://app/C:/Windows/win.ini',
      'mixup://evil/index.html',
    ]) {
      const res = await fake.protocol.fetch(url);
      const text = await res.text();
      expect(text, url).not.toContain('TOP SECRET');
      expect(text, url).not.toContain('root:');
      expect(res.status, url).toBeGreaterThanOrEqual(400);
    }
  });

  it('remembers the window size and place in the settings table, and drops a place that is off every display', async () => {
    const home = tempFolder('mixup-app-home-');
    const root = fakeRoot();
    const first = await start({ home, root });
    first.win.moveTo(200, 150, 1000, 700);
    first.fake.app.quit();
    await expect.poll(() => first.fake.app.quitted).toBe(true);
    expect(first.handle.services()).toBeUndefined();

    const second = await start({ home, root });
    expect(second.win.options).toMatchObject({ x: 200, y: 150, width: 1000, height: 700 });
    const row = second.handle.services()!.db.prepare('SELECT value FROM settings WHERE key = ?').get(WINDOW_STATE_KEY) as { value: string };
    expect(JSON.parse(row.value)).toEqual({ x: 200, y: 150, width: 1000, height: 700, maximized: false });
    second.win.moveTo(5000, 4000, 900, 650);
    second.fake.app.quit();
    await expect.poll(() => second.fake.app.quitted).toBe(true);

    // The monitor it was on is gone: size kept, place left to the system.
    const third = await start({ home, root, fake: makeFakeElectron({ displays: [{ x: 0, y: 0, width: 1920, height: 1080 }] }) });
    expect(third.win.options).toMatchObject({ width: 900, height: 650 });
    expect(third.win.options.x).toBeUndefined();
  });

  it('asks before quitting with a running job: "keep" keeps it running, "stop" cancels it and closes the database', async () => {
    const { fake, handle, invoke, win } = await start({ ops: opsWithLongJob() });
    const job = invoke('runs:train', { input: { seconds: 60 }, callId: 'long' });
    await new Promise((r) => setTimeout(r, 20));

    fake.dialog.nextResponses.push(0); // Keep running
    fake.app.quit();
    await expect.poll(() => fake.dialog.messageBoxes.length).toBe(1);
    expect(fake.dialog.messageBoxes[0]!.message).toMatch(/training run/);
    expect(fake.dialog.messageBoxes[0]!.buttons).toEqual(['Keep running', 'Stop the job and quit', 'Quit when it finishes']);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.app.quitted).toBe(false);
    expect(handle.calls!.list().map((c) => c.id)).toEqual(['long']);
    expect(handle.services()!.db.open).toBe(true);

    // Closing the window asks too (and is prevented while the user decides).
    fake.dialog.nextResponses.push(1); // Stop the job and quit
    expect(win.close()).toBe(false);
    expect(await job).toEqual({ error: expect.objectContaining({ kind: 'cancelled' }) });
    await expect.poll(() => fake.app.quitted).toBe(true);
    expect(fake.dialog.messageBoxes).toHaveLength(2);
    expect(handle.services()).toBeUndefined();
    expect(win.destroyed).toBe(true);
  });

  it('"quit when it finishes" hides the window, lets the job end normally, then quits with the database closed', async () => {
    const { fake, handle, invoke, win } = await start({ ops: opsWithLongJob() });
    win.emit('ready-to-show');
    const db = handle.services()!.db;
    const job = invoke('runs:train', { input: { seconds: 0.3 }, callId: 'short' });
    await new Promise((r) => setTimeout(r, 20));
    fake.dialog.nextResponses.push(2);
    fake.app.quit();
    await expect.poll(() => fake.dialog.messageBoxes.length).toBe(1);
    await expect.poll(() => win.visible).toBe(false);
    expect(await job).toEqual({ result: { status: 'completed' } });
    await expect.poll(() => fake.app.quitted, { timeout: 5000 }).toBe(true);
    expect(db.open).toBe(false);
  });

  it('quits without asking when nothing long is running', async () => {
    const { fake, handle } = await start();
    const db = handle.services()!.db;
    fake.app.quit();
    await expect.poll(() => fake.app.quitted).toBe(true);
    expect(fake.dialog.messageBoxes).toHaveLength(0);
    expect(db.open).toBe(false);
  });

  it('shows an error box and exits when the home cannot be opened', async () => {
    const fake = makeFakeElectron();
    const blocker = join(tempFolder('mixup-app-bad-'), 'file');
    writeFileSync(blocker, 'not a folder');
    const handle = startApp(fake as unknown as ElectronModule, { operations, resolveMedia, home: join(blocker, 'home'), root: fakeRoot(), env: {}, handleSignals: false });
    fake.ready();
    await handle.ready;
    expect(fake.dialog.errorBoxes[0]![0]).toBe('MixUp Studio cannot start');
    expect(fake.dialog.errorBoxes[0]![1]).toMatch(/cannot create home folder/);
    expect(fake.app.exitCode).toBe(1);
    expect(fake.windows).toHaveLength(0);
  });

  it('says the page is not built (and exits, database closed) when out/renderer is missing', async () => {
    const fake = makeFakeElectron();
    const handle = startApp(fake as unknown as ElectronModule, { operations, resolveMedia, home: tempFolder('mixup-app-home-'), root: tempFolder('mixup-empty-root-'), env: {}, handleSignals: false });
    fake.ready();
    await handle.ready;
    expect(fake.dialog.errorBoxes[0]![1]).toMatch(/the page is not built: .*index\.html is missing; run `npm run build`/);
    expect(fake.app.exitCode).toBe(1);
    expect(handle.services()).toBeUndefined();
  });

  it('trusts the electron-vite dev server only in development, and adds the CSP header to its pages', async () => {
    const { fake, win, invoke } = await start({ env: { ELECTRON_RENDERER_URL: 'http://localhost:5173' } });
    expect(win.loaded).toEqual(['http://localhost:5173/']);
    expect((await invoke('system:info', { input: {} }, { url: 'http://localhost:5173/' })).result).toBeDefined();
    expect(fake.session.defaultSession.headerHooks).toHaveLength(1);
    const packaged = makeFakeElectron();
    packaged.app.isPackaged = true;
    const started = await start({ fake: packaged, env: { ELECTRON_RENDERER_URL: 'http://localhost:5173' } });
    expect(started.win.loaded).toEqual([APP_INDEX_URL]);
  });
});

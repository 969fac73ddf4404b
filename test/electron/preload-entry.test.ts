/**
 * The preload and the Electron entry (src-main/index.ts) loaded against a FAKE `electron` module
 * (vi.mock below; the real binary cannot run here), plus the utilityProcess training transport.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL } from '../../src-main/electron/protocol';
import { CHANNEL_CANCEL, CHANNEL_EVENT, CHANNEL_PICK_FOLDER, type BridgeApi } from '../../src-main/api/bridge';

const fake = await vi.hoisted(async () => (await import('./fake-electron')).makeFakeElectron());
vi.mock('electron', () => fake);

const home = mkdtempSync(join(tmpdir(), 'mixup-entry-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('preload (window.api)', () => {
  it('exposes exactly invoke/cancel/on/pickFolder as window.api, and no ipcRenderer', async () => {
    await import('../../src-main/preload/index');
    expect([...fake.contextBridge.exposed.keys()]).toEqual(['api']);
    const api = fake.contextBridge.exposed.get('api') as BridgeApi;
    expect(Object.keys(api).sort()).toEqual(['cancel', 'invoke', 'on', 'pickFolder']);
    expect(Object.values(api).every((v) => typeof v === 'function')).toBe(true);
  });

  it('invokes only operation names, with {input, callId}; internal channels and odd names are refused locally', async () => {
    const api = fake.contextBridge.exposed.get('api') as BridgeApi;
    fake.ipcRenderer.invoked.length = 0;
    await api.invoke('datasets:list', { a: 1 }, 'c1');
    expect(fake.ipcRenderer.invoked).toEqual([{ channel: 'datasets:list', args: [{ input: { a: 1 }, callId: 'c1' }] }]);
    for (const name of [CHANNEL_CANCEL, CHANNEL_PICK_FOLDER, CHANNEL_EVENT, 'ELECTRON_BROWSER_REQUIRE', 'no-colon', '../x:y', 42 as unknown as string]) {
      const res = await api.invoke(name, {});
      expect(res.error?.message, String(name)).toMatch(/is not an operation name/);
    }
    expect(fake.ipcRenderer.invoked).toHaveLength(1);
    await api.cancel('c1');
    await api.pickFolder();
    expect(fake.ipcRenderer.invoked.slice(1).map((i) => i.channel)).toEqual([CHANNEL_CANCEL, CHANNEL_PICK_FOLDER]);
  });

  it('delivers events by topic (and to "*"), with the call id, until unsubscribed', async () => {
    const api = fake.contextBridge.exposed.get('api') as BridgeApi;
    const got: unknown[] = [];
    const all: unknown[] = [];
    const off = api.on('index.progress', (data, callId) => got.push([data, callId]));
    const offAll = api.on('*', (data) => all.push(data));
    fake.ipcRenderer.emit(CHANNEL_EVENT, {}, { topic: 'index.progress', data: { done: 1 }, callId: 'c9' });
    fake.ipcRenderer.emit(CHANNEL_EVENT, {}, { topic: 'train.epoch', data: { epoch: 0 } });
    off();
    fake.ipcRenderer.emit(CHANNEL_EVENT, {}, { topic: 'index.progress', data: { done: 2 }, callId: 'c9' });
    offAll();
    expect(got).toEqual([[{ done: 1 }, 'c9']]);
    expect(all).toEqual([{ done: 1 }, { epoch: 0 }, { done: 2 }]);
  });
});

describe('Electron entry (src-main/index.ts)', () => {
  it('starts the app with the real operations table, and the page client reaches it through the preload with real errors', async () => {
    vi.stubEnv('MIXUP_STUDIO_HOME', home);
    await import('../../src-main/index');
    expect(fake.app.lockRequested).toBe(true);
    expect(fake.protocol.privileged.map((p) => p.scheme)).toEqual(['mixup']);
    fake.ready();
    await expect.poll(() => fake.windows.length).toBe(1);
    expect(fake.windows[0]!.loaded).toEqual([APP_INDEX_URL]);
    expect(fake.ipcMain.handlers.has('datasets:list')).toBe(true);

    // The whole Electron path, page to core: the page's client over the real preload, the (fake) IPC wire
    // and the main process's real handlers; errors come back as AppErrors with the core's sentence.
    const win = fake.windows[0]!;
    fake.ipcRenderer.invoke = (async (channel: string, ...args: unknown[]) =>
      fake.ipcMain.handlers.get(channel)!({ sender: win.webContents, senderFrame: { url: APP_INDEX_URL, parent: null } }, ...args)) as typeof fake.ipcRenderer.invoke;
    win.webContents.send = (channel: string, message: unknown) => void fake.ipcRenderer.emit(channel, {}, structuredClone(message));
    const clientPath = '../../src-renderer/src/lib/api/client';
    const { createElectronClient } = (await import(/* @vite-ignore */ clientPath)) as {
      createElectronClient(b: BridgeApi): { kind: string; call<T>(n: string, i?: unknown): Promise<T>; mediaUrl(k: string, id: number): string };
    };
    const api = createElectronClient(fake.contextBridge.exposed.get('api') as BridgeApi);
    expect(api.kind).toBe('electron');
    expect((await api.call<{ home: string }>('system:info')).home).toBe(home);
    const err = await api.call('datasets:show', { dataset: 'holiday-photos' }).then(
      () => undefined,
      (e: unknown) => e as { name: string; kind: string; message: string },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ kind: 'not-found', message: expect.stringContaining('holiday-photos') });
    expect(err!.message).not.toMatch(/Error invoking remote method/);
    expect(api.mediaUrl('thumb', 12)).toBe('mixup://app/media/thumb/12');
    fake.app.quit();
    await expect.poll(() => fake.app.quitted).toBe(true);
    vi.unstubAllEnvs();
  });
});

describe('utilityProcess training transport', () => {
  it('holds messages until the process has spawned, relays worker messages and exit, and kills', async () => {
    const { utilityProcessTransport } = await import('../../src-main/electron/training-transport');
    const child = Object.assign(new EventEmitter(), {
      pid: undefined as number | undefined,
      posted: [] as unknown[],
      killed: 0,
      postMessage(m: unknown) {
        child.posted.push(m);
      },
      kill() {
        child.killed += 1;
        return true;
      },
    });
    const forks: Array<{ file: string; options: Record<string, unknown> }> = [];
    const t = utilityProcessTransport({ fork: (file: string, _args?: string[], options?: object) => (forks.push({ file, options: options as Record<string, unknown> }), child as never) }, { FOO: '1' });
    expect(forks[0]!.file).toMatch(/training[\\/]worker\.ts$|train-worker\.js$/);
    expect(forks[0]!.options).toMatchObject({ serviceName: 'MixUp Studio training', env: { FOO: '1' } });
    const job = { type: 'start', job: { home: '/h', runId: 1, resume: false } } as const;
    t.send(job);
    expect(child.posted).toEqual([]);
    child.pid = 4242;
    child.emit('spawn');
    expect(child.posted).toEqual([job]);
    t.send({ type: 'cancel' });
    expect(child.posted).toEqual([job, { type: 'cancel' }]);
    const messages: unknown[] = [];
    const exits: unknown[] = [];
    t.onMessage((m) => messages.push(m));
    t.onExit((e) => exits.push(e));
    child.emit('message', { type: 'event', topic: 'train.progress', data: { done: 1 } });
    expect(messages).toEqual([{ type: 'event', topic: 'train.progress', data: { done: 1 } }]);
    expect(t.pid).toBe(4242);
    t.kill();
    expect(child.killed).toBe(1);
    child.emit('exit', 0);
    expect(exits).toEqual([{ code: 0, signal: null }]);
    t.send({ type: 'cancel' });
    expect(child.posted).toHaveLength(2);
  });
});

describe('training runs in a utilityProcess in the app', () => {
  it('once the app plugs it in, the training host starts every run through utilityProcess.fork and relays its messages', async () => {
    const { utilityProcessTraining } = await import('../../src-main/electron/training-transport');
    const host = await import('../../src-main/training/host');
    const child = Object.assign(new EventEmitter(), { pid: 99, posted: [] as unknown[], postMessage: (m: unknown) => child.posted.push(m), kill: () => true });
    const forked: string[] = [];
    // What the app's core hands to every training run (src-main/index.ts → startApp → createCore).
    const transport = utilityProcessTraining({ fork: (file: string) => (forked.push(file), child as never) });
    {
      const events: Array<{ topic: string; data: unknown }> = [];
      const job = { home: '/h', runId: 7, resume: false };
      const status = host.runInWorker(job, { transport: transport(), emit: (topic, data) => events.push({ topic, data }) });
      expect(forked).toHaveLength(1);
      expect(forked[0]).toMatch(/training[\\/]worker\.ts$|train-worker\.js$/);
      child.emit('spawn');
      expect(child.posted).toEqual([{ type: 'start', job }]);
      child.emit('message', { type: 'event', topic: 'train.epoch', data: { runId: 7, epoch: 0 } });
      child.emit('message', { type: 'done', status: 'completed' });
      child.emit('exit', 0);
      await expect(status).resolves.toBe('completed');
      expect(events).toEqual([{ topic: 'train.epoch', data: { runId: 7, epoch: 0 } }]);
    }
  });
});


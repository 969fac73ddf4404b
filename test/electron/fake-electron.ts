/**
 * A SMALL FAKE of the `electron` module. It exists because the Electron binary cannot be downloaded or run
 * on the build machines (see DESIGN.md): the app's Electron files are written against the module passed in,
 * and these tests hand them this fake. It mimics only what the app uses, with the behaviour that matters
 * to the properties under test (ipcMain.handle refuses a second handler for a channel, like Electron;
 * before-quit / close events can be prevented; ready-to-show is fired by the test).
 */
import { EventEmitter } from 'node:events';

export interface FakeEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}

export function fakeEvent(): FakeEvent {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
  };
}

export class FakeWebContents extends EventEmitter {
  url = '';
  destroyed = false;
  sent: Array<{ channel: string; message: unknown }> = [];
  windowOpenHandler?: (details: { url: string }) => { action: 'allow' | 'deny' };
  setWindowOpenHandler(h: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = h;
  }
  send(channel: string, message: unknown): void {
    this.sent.push({ channel, message: structuredClone(message) });
  }
  getURL(): string {
    return this.url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Emits a preventable event (will-navigate etc.) and says whether it was prevented. */
  tryEvent(name: string, url: string): boolean {
    const e = fakeEvent();
    this.emit(name, e, url);
    return e.defaultPrevented;
  }
}

export function makeFakeElectron(opts: { lock?: boolean; displays?: Array<{ x: number; y: number; width: number; height: number }> } = {}) {
  const windows: FakeBrowserWindow[] = [];

  class FakeBrowserWindow extends EventEmitter {
    static getAllWindows = () => windows.filter((w) => !w.destroyed);
    static fromWebContents = (wc: unknown) => windows.find((w) => w.webContents === wc) ?? null;
    readonly webContents = new FakeWebContents();
    visible = false;
    destroyed = false;
    minimized = false;
    maximized = false;
    focused = 0;
    title: string;
    bounds: { x: number; y: number; width: number; height: number };
    loaded: string[] = [];
    constructor(readonly options: Record<string, any>) {
      super();
      this.title = options.title;
      this.bounds = { x: options.x ?? 100, y: options.y ?? 100, width: options.width ?? 800, height: options.height ?? 600 };
      windows.push(this);
    }
    async loadURL(url: string) {
      this.loaded.push(url);
      this.webContents.url = url;
    }
    show() {
      this.visible = true;
    }
    hide() {
      this.visible = false;
    }
    focus() {
      this.focused += 1;
    }
    restore() {
      this.minimized = false;
    }
    isMinimized() {
      return this.minimized;
    }
    maximize() {
      this.maximized = true;
    }
    isMaximized() {
      return this.maximized;
    }
    setTitle(t: string) {
      this.title = t;
    }
    getNormalBounds() {
      return { ...this.bounds };
    }
    isDestroyed() {
      return this.destroyed;
    }
    /** Like a user moving the window. */
    moveTo(x: number, y: number, width: number, height: number) {
      this.bounds = { x, y, width, height };
      this.emit('move');
      this.emit('resize');
    }
    /** Like clicking the close button: 'close' may be prevented; else the window is destroyed. */
    close(): boolean {
      const e = fakeEvent();
      this.emit('close', e);
      if (e.defaultPrevented) return false;
      this.destroyed = true;
      this.webContents.destroyed = true;
      this.emit('closed');
      if (FakeBrowserWindow.getAllWindows().length === 0) app.emit('window-all-closed');
      return true;
    }
  }

  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  const ipcMain = {
    handlers,
    handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, fn);
    },
    removeHandler(channel: string) {
      handlers.delete(channel);
    },
  };

  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));
  const app = Object.assign(new EventEmitter(), {
    name: 'mixup-studio',
    isPackaged: false,
    sandboxEnabled: false,
    quitCalls: 0,
    exitCode: undefined as number | undefined,
    lockRequested: false,
    setName(n: string) {
      app.name = n;
    },
    enableSandbox() {
      app.sandboxEnabled = true;
    },
    requestSingleInstanceLock() {
      app.lockRequested = true;
      return opts.lock ?? true;
    },
    whenReady() {
      return readyPromise;
    },
    /** Like Electron: emits before-quit (preventable), then closes the windows. */
    quit() {
      app.quitCalls += 1;
      const e = fakeEvent();
      app.emit('before-quit', e);
      if (e.defaultPrevented) return;
      for (const w of FakeBrowserWindow.getAllWindows()) w.close();
      app.emit('will-quit', fakeEvent());
      app.quitted = true;
    },
    quitted: false,
    exit(code: number) {
      app.exitCode = code;
    },
  });

  const protocol = {
    privileged: [] as Array<{ scheme: string; privileges: Record<string, boolean> }>,
    handlers: new Map<string, (req: { url: string; method: string }) => Promise<Response>>(),
    registerSchemesAsPrivileged(list: Array<{ scheme: string; privileges: Record<string, boolean> }>) {
      protocol.privileged.push(...list);
    },
    handle(scheme: string, fn: (req: { url: string; method: string }) => Promise<Response>) {
      protocol.handlers.set(scheme, fn);
    },
    /** Like the page fetching a URL of a registered scheme. */
    fetch(url: string, method = 'GET') {
      const scheme = url.slice(0, url.indexOf(':'));
      const fn = protocol.handlers.get(scheme);
      if (!fn) throw new Error(`no handler for ${scheme}`);
      return fn({ url, method });
    },
  };

  const dialog = {
    messageBoxes: [] as Array<Record<string, any>>,
    nextResponses: [] as number[],
    openDialogs: [] as Array<Record<string, any>>,
    nextFolder: null as string | null,
    errorBoxes: [] as Array<[string, string]>,
    async showMessageBox(...args: any[]) {
      const options = args.length === 2 ? args[1] : args[0];
      dialog.messageBoxes.push(options);
      return { response: dialog.nextResponses.shift() ?? 0, checkboxChecked: false };
    },
    async showOpenDialog(...args: any[]) {
      const options = args.length === 2 ? args[1] : args[0];
      dialog.openDialogs.push(options);
      return dialog.nextFolder ? { canceled: false, filePaths: [dialog.nextFolder] } : { canceled: true, filePaths: [] };
    },
    showErrorBox(title: string, content: string) {
      dialog.errorBoxes.push([title, content]);
    },
  };

  const screen = {
    getAllDisplays: () => (opts.displays ?? [{ x: 0, y: 0, width: 1920, height: 1080 }]).map((workArea) => ({ workArea })),
  };

  const session = {
    defaultSession: {
      permissionRequest: undefined as undefined | ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void),
      permissionCheck: undefined as undefined | (() => boolean),
      headerHooks: [] as unknown[],
      setPermissionRequestHandler(h: (wc: unknown, permission: string, cb: (ok: boolean) => void) => void) {
        session.defaultSession.permissionRequest = h;
      },
      setPermissionCheckHandler(h: () => boolean) {
        session.defaultSession.permissionCheck = h;
      },
      webRequest: {
        onHeadersReceived(...args: unknown[]) {
          session.defaultSession.headerHooks.push(args);
        },
      },
    },
  };

  const contextBridge = {
    exposed: new Map<string, unknown>(),
    exposeInMainWorld(key: string, api: unknown) {
      contextBridge.exposed.set(key, api);
    },
  };

  const ipcRenderer = Object.assign(new EventEmitter(), {
    invoked: [] as Array<{ channel: string; args: unknown[] }>,
    async invoke(channel: string, ...args: unknown[]) {
      ipcRenderer.invoked.push({ channel, args });
      return { result: { channel, args } };
    },
  });

  return {
    app,
    BrowserWindow: FakeBrowserWindow,
    ipcMain,
    protocol,
    dialog,
    screen,
    session,
    contextBridge,
    ipcRenderer,
    utilityProcess: { fork: () => new EventEmitter() },
    windows,
    /** Fires app.whenReady(). */
    ready: () => readyResolve(),
  };
}

export type FakeElectron = ReturnType<typeof makeFakeElectron>;
export type FakeWindow = InstanceType<FakeElectron['BrowserWindow']>;

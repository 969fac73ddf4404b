/**
 * The Electron app's lifecycle, written against the `electron` module passed in (src-main/index.ts passes
 * the real one; the unit tests a small fake, since the Electron binary cannot run on the build machines).
 * Only types are imported from 'electron' here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as ElectronNs from 'electron';
import type { Operation } from '../api/contract';
import { toErrorEnvelope } from '../core/errors';
import { packageRoot } from '../core/entries';
import { defaultHome } from '../core/home';
import type { Services } from '../core/services';
import { createCore } from '../api/core';
import type { TrainingTransport } from '../training/host';
import { APP_NAME } from '../core/version';
import { CallRegistry, isLongJob } from '../api/calls';
import { rendererDir as builtRendererDir } from '../api/page-files';
import { forwardEvents, isTrustedFrameUrl, registerIpc, senderFrameUrl } from './ipc';
import { installAppProtocol, registerAppScheme, type MediaResolver } from './protocol';
import { QuitController } from './quit';
import { createMainWindow, devServerUrl, lockDownContents, lockDownSession, planMainWindow } from './window';
import { loadWindowState, trackWindowState } from './window-state';

export type ElectronModule = Pick<typeof ElectronNs, 'app' | 'BrowserWindow' | 'ipcMain' | 'protocol' | 'dialog' | 'screen' | 'session'>;

export interface AppOptions {
  operations: ReadonlyMap<string, Operation>;
  resolveMedia: MediaResolver;
  env?: NodeJS.ProcessEnv;
  /** The home folder (default: MIXUP_STUDIO_HOME or the OS user-data folder, shared with the CLI). */
  home?: string;
  root?: string;
  /** Quit on SIGINT/SIGTERM (default true; tests that start many apps in one process turn it off). */
  handleSignals?: boolean;
  /** The process each training run gets (src-main/index.ts: a utilityProcess); default a forked Node child. */
  trainingTransport?: () => TrainingTransport;
}

export interface AppHandle {
  /** False when another instance already runs (this one quits at once). */
  primary: boolean;
  calls?: CallRegistry;
  /** Settles once the window is created (or the start failed). */
  ready: Promise<void>;
  window(): ElectronNs.BrowserWindow | undefined;
  services(): Services | undefined;
  quit?: QuitController;
}

export function startApp(electron: ElectronModule, opts: AppOptions): AppHandle {
  const { app, protocol, dialog, ipcMain, screen, session } = electron;
  const env = opts.env ?? process.env;
  app.setName(APP_NAME);
  app.enableSandbox();

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return { primary: false, ready: Promise.resolve(), window: () => undefined, services: () => undefined };
  }
  registerAppScheme(protocol);

  const root = opts.root ?? packageRoot();
  const devUrl = devServerUrl(env, app.isPackaged);
  let services: Services | undefined;
  let win: ElectronNs.BrowserWindow | undefined;
  const calls = new CallRegistry(
    opts.operations,
    () => {
      if (!services) throw new Error('services are closed');
      return services;
    },
    opts.trainingTransport,
  );
  let trustedOrigins: string[] = [];
  let saveWindow: (() => void) | undefined;

  const quit = new QuitController({
    calls,
    ask: async (options) => {
      const parent = win && !win.isDestroyed() ? win : undefined;
      const res = parent ? await dialog.showMessageBox(parent, options) : await dialog.showMessageBox(options);
      return res.response;
    },
    hideWindows: () => {
      if (win && !win.isDestroyed()) win.hide();
    },
    closeServices: () => {
      saveWindow?.();
      services?.close();
      services = undefined;
    },
    exit: () => app.quit(),
  });

  const focusWindow = () => {
    if (!win || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };
  app.on('second-instance', focusWindow);
  app.on('web-contents-created', (_event, contents) => lockDownContents(contents, trustedOrigins));
  app.on('before-quit', (event) => {
    if (quit.done) return;
    event.preventDefault();
    void quit.request();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  if (opts.handleSignals !== false) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit());

  const openWindow = () => {
    if (!services) return;
    const displays = screen.getAllDisplays().map((d) => d.workArea);
    const state = loadWindowState(services.db, displays);
    const icon = join(root, 'build', 'icon.png');
    const plan = planMainWindow({ preload: join(root, 'out', 'preload', 'index.js'), state, icon: existsSync(icon) ? icon : undefined, devUrl });
    trustedOrigins = plan.trustedOrigins;
    const w = createMainWindow(electron, plan, state.maximized);
    win = w;
    saveWindow = trackWindowState(w, () => services?.db).flush;
    w.on('close', (event) => {
      if (quit.done || calls.busy(isLongJob).length === 0) return;
      event.preventDefault();
      void quit.request();
    });
    w.on('closed', () => {
      if (win === w) win = undefined;
    });
  };

  const fail = (err: unknown) => {
    dialog.showErrorBox(`${APP_NAME} cannot start`, toErrorEnvelope(err).message);
    services?.close();
    services = undefined;
    app.exit(1);
  };

  const ready = app.whenReady().then(() => {
    try {
      const core = createCore({
        home: opts.home ?? env.MIXUP_STUDIO_HOME ?? defaultHome(env),
        operations: opts.operations,
        resolveMedia: opts.resolveMedia,
        trainingTransport: opts.trainingTransport,
      });
      services = core.services;
    } catch (err) {
      return fail(err);
    }
    try {
      launch(services);
    } catch (err) {
      fail(err);
    }
  });

  const launch = (opened: Services) => {
    const rendererDir = devUrl ? join(root, 'out', 'renderer') : builtRendererDir(root);
    installAppProtocol(protocol, { rendererDir, services: () => services!, resolveMedia: opts.resolveMedia });
    registerIpc({
      ipcMain,
      operations: opts.operations,
      calls,
      isTrustedSender: (event) => isTrustedFrameUrl(senderFrameUrl(event), trustedOrigins),
      pickFolder: async (event) => {
        const parent = electron.BrowserWindow.fromWebContents(event.sender) ?? win;
        const options: ElectronNs.OpenDialogOptions = { title: 'Add a dataset folder', properties: ['openDirectory'] };
        const res = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
        return res.canceled || res.filePaths.length === 0 ? null : res.filePaths[0]!;
      },
    });
    forwardEvents(
      calls,
      () => electron.BrowserWindow.getAllWindows().map((w) => w.webContents),
      () => trustedOrigins,
    );
    lockDownSession(session.defaultSession, devUrl);
    openWindow();
    app.on('activate', () => {
      if (!win) openWindow();
    });
  };

  return { primary: true, calls, ready, window: () => win, services: () => services, quit };
}

/**
 * The main window: sandboxed, context-isolated, no Node in the page, a strict CSP, no new windows, no
 * navigation away from the app, no permissions (camera, notifications, ...), shown once it has painted.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions, Session, WebContents } from 'electron';
import { APP_NAME } from '../core/version';
import { APP_CSP, APP_INDEX_URL, APP_ORIGIN } from './protocol';
import type { WindowState } from './window-state';

export interface WindowPlan {
  options: BrowserWindowConstructorOptions;
  /** What the window loads: the app scheme, or electron-vite's dev server in `npm run dev`. */
  url: string;
  /** Origins whose pages may use the API (the frame URL check of IPC and events). */
  trustedOrigins: string[];
}

/** The dev server URL electron-vite passes in `npm run dev` (loopback http only; ignored when packaged). */
export function devServerUrl(env: NodeJS.ProcessEnv, packaged: boolean): string | undefined {
  const raw = env.ELECTRON_RENDERER_URL;
  if (packaged || !raw) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' || !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return undefined;
    return u.toString();
  } catch {
    return undefined;
  }
}

export function planMainWindow(opts: { preload: string; state: WindowState; icon?: string; devUrl?: string }): WindowPlan {
  const { state } = opts;
  const options: BrowserWindowConstructorOptions = {
    title: APP_NAME,
    show: false,
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    minWidth: 800,
    minHeight: 560,
    backgroundColor: '#0f1626',
    ...(opts.icon ? { icon: opts.icon } : {}),
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
  const trustedOrigins = [APP_ORIGIN];
  if (opts.devUrl) trustedOrigins.push(new URL(opts.devUrl).origin);
  return { options, url: opts.devUrl ?? APP_INDEX_URL, trustedOrigins };
}

/** True when `url` is one of the app's own pages (same origin as a trusted one). */
export function isAppUrl(url: string, trustedOrigins: readonly string[]): boolean {
  try {
    const u = new URL(url);
    const origin = u.protocol === 'mixup:' ? `mixup://${u.host}` : u.origin;
    return trustedOrigins.includes(origin);
  } catch {
    return false;
  }
}

/** Denies new windows, navigation and redirects away from the app, webviews, and every permission. */
export function lockDownContents(contents: WebContents, trustedOrigins: readonly string[]): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const guard = (event: { preventDefault(): void }, url: string) => {
    if (!isAppUrl(url, trustedOrigins)) event.preventDefault();
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Permissions and the CSP header for what the session loads (the dev server's pages included). */
export function lockDownSession(session: Session, devUrl?: string): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  if (devUrl) {
    // The dev server does not send our CSP; add it (plus its hot-reload socket) to its pages.
    const origin = new URL(devUrl).origin;
    const devCsp = APP_CSP.replace("connect-src 'self'", `connect-src 'self' ${origin.replace(/^http/, 'ws')}`).replace(
      "img-src 'self' data: blob:",
      "img-src 'self' data: blob: mixup:",
    );
    session.webRequest.onHeadersReceived({ urls: [`${origin}/*`] }, (details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [devCsp] } });
    });
  }
}

export interface WindowDeps {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
}

/** Creates the window from a plan, locks it down and loads the page; shown on `ready-to-show`. */
export function createMainWindow(deps: WindowDeps, plan: WindowPlan, maximized: boolean): BrowserWindow {
  const win = new deps.BrowserWindow(plan.options);
  lockDownContents(win.webContents, plan.trustedOrigins);
  win.once('ready-to-show', () => {
    if (maximized) win.maximize();
    win.show();
  });
  // The page title must not replace the app's name.
  win.on('page-title-updated', (event) => {
    event.preventDefault();
    win.setTitle(APP_NAME);
  });
  void win.loadURL(plan.url);
  return win;
}

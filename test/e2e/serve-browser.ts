/**
 * Helpers of the end-to-end tests: the built `mixup-studio serve` in a child process on a temp home, and a
 * headless Debian Chromium driven by playwright-core that records every console error of the page.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The project folder (the one whose package.json is mixup-studio's), found from this file upwards. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mixup-studio') return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

export const root = findRoot(__dirname);
export const artifacts = join(root, 'test', 'e2e', 'artifacts');

/** Builds the app when out/ lacks the CLI or the renderer (a fresh clone). */
export function ensureBuilt(): void {
  if (existsSync(join(root, 'out', 'main', 'cli.js')) && existsSync(join(root, 'out', 'renderer', 'index.html'))) return;
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

export interface Served {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** `node bin/mixup-studio.cjs --home HOME serve --port 0 --json`, resolved with the printed URL. */
export function startServe(home: string): Promise<Served> {
  const child = spawn(process.execPath, [join(root, 'bin', 'mixup-studio.cjs'), '--home', home, 'serve', '--port', '0', '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return new Promise((resolveServe, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s; stderr:\n${err}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const { url } = JSON.parse(out.slice(0, nl)) as { url: string };
        resolveServe({
          url,
          child,
          stderr: () => err,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
            if (child.exitCode === null) child.kill('SIGKILL');
          },
        });
      } catch (e) {
        reject(new Error(`serve's first line is not {"url"}: ${out}\n${(e as Error).message}`));
      }
    });
    child.on('close', (code) => reject(new Error(`serve exited (${code}); stderr:\n${err}`)));
  });
}

export interface Driven {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  consoleErrors: string[];
  close(): Promise<void>;
}

export async function openBrowser(userDataDir: string, viewport = { width: 1440, height: 1000 }): Promise<Driven> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  // Name the resource behind a "Failed to load resource" console line.
  page.on('response', (r) => {
    if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return {
    browser: context.browser()!,
    context,
    page,
    consoleErrors,
    close: () => context.close(),
  };
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

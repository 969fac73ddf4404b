/**
 * The built page (out/renderer, from `npm run build`) served by the real bridge and loaded in Debian's
 * Chromium (headless, driven by playwright-core): no console errors (CSP, assets, socket all clean), the
 * token leaves the address bar, and the page's own requests carry it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { startServer, type RunningServer } from '../../src-main/serve/server';
import { tempServices } from '../helpers/temp';

const root = resolve(__dirname, '..', '..');

/**
 * Every <img> on the page has finished (loaded or failed), so nothing is in flight when the test goes on: a
 * reload aborts the thumbnails still loading (ERR_ABORTED, the browser's doing, not a failed request of the
 * page's), and a loaded CI machine makes them slow.
 */
async function imagesSettled(page: Page): Promise<void> {
  await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete), undefined, { timeout: 30_000 });
  await page.waitForLoadState('networkidle');
}
const built = join(root, 'out', 'renderer');

describe('the served page in Chromium', () => {
  let services: ReturnType<typeof tempServices>;
  let server: RunningServer;
  let browser: Browser;
  let data: string;

  beforeAll(async () => {
    if (!existsSync(join(built, 'index.html'))) throw new Error(`${built}/index.html is missing: run \`npm run build\` first`);
    services = tempServices();
    // A real dataset in the home: three sample classes, indexed through the contract.
    data = mkdtempSync(join(tmpdir(), 'mixup-page-data-'));
    for (const cls of ['bag', 'coat', 'sandal']) {
      const src = join(root, 'resources', 'sample', 'fashion-mnist', cls);
      mkdirSync(join(data, cls));
      for (const f of readdirSync(src).slice(0, 4)) cpSync(join(src, f), join(data, cls, f));
    }
    await invokeOperation(operations, 'datasets:index', { root: data, name: 'tiny-fashion' }, { services, emit: () => undefined, signal: new AbortController().signal });
    const { resolveMedia } = await import('../../src-main/datasets/media');
    server = await startServer({ services, operations, rendererDir: built, port: 0, resolveMedia });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    services?.cleanup();
    if (data) rmSync(data, { recursive: true, force: true });
  });

  it('loads with no console errors, no failed requests, lists the home\'s datasets by name, strips the token from the address bar', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    await page.goto(server.url, { waitUntil: 'networkidle' });
    await page.getByText('tiny-fashion').first().waitFor({ timeout: 15_000 });
    await imagesSettled(page);
    expect(problems).toEqual([]);
    expect(await page.title()).toContain('MixUp Studio');
    expect(page.url()).not.toContain('token=');
    expect(await page.evaluate("sessionStorage.getItem('mixup-studio.token')")).toBe(server.token);
    // A reload (token no longer in the URL) still works: the cookie carries it for the page and assets.
    await page.reload({ waitUntil: 'networkidle' });
    await page.getByText('tiny-fashion').first().waitFor({ timeout: 15_000 });
    await imagesSettled(page);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the page cannot run an inline script: the CSP blocks it', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => violations.push(m.text()));
    await page.goto(server.url, { waitUntil: 'networkidle' });
    const ran = await page.evaluate(`(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.appendChild(s);
      return window.__inlineRan === true;
    })()`);
    expect(ran).toBe(false);
    expect(violations.join('\n')).toMatch(/Content Security Policy/);
    await page.close();
  });
});

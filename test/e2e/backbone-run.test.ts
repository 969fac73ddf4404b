/**
 * A run on a pretrained backbone from the Train screen, in a real browser (built `mixup-studio serve` + Debian's
 * Chromium): the config editor lists the imported backbones, picking one replaces the architecture fields by
 * the head's, `config:resolve` accepts it (and names the field it refuses), and the run trains to completion.
 * The dataset and the backbone are set up with the built CLI, as a user would.
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir } from '../helpers/temp';
import { ensureBuilt, openBrowser, root, shot, startServe, type Driven, type Served } from './serve-browser';

describe('a backbone run from the Train screen', () => {
  const tmp = tempDir('mixup-e2e-backbone-');
  const home = join(tmp.dir, 'home');
  let served: Served;
  let driven: Driven;
  let page: Page;

  beforeAll(async () => {
    ensureBuilt();
    const data = join(tmp.dir, 'shoes');
    for (const c of ['ankle-boot', 'sandal', 'sneaker']) {
      const src = join(root, 'resources', 'sample', 'fashion-mnist', c);
      mkdirSync(join(data, c), { recursive: true });
      for (const f of readdirSync(src).sort().slice(0, 12)) cpSync(join(src, f), join(data, c, f));
    }
    writeTestBackbone(join(tmp.dir, 'tiny.onnx'), { channels: 1, size: [28, 28], dim: 24 });
    const r = await runCli(['index', data, '--name', 'shoes'], { home, built: true });
    expect(r.code, r.stderr).toBe(0);
    served = await startServe(home);
    driven = await openBrowser(join(tmp.dir, 'chromium-profile'), { width: 1440, height: 1400 });
    page = driven.page;
    page.setDefaultTimeout(30_000);
  }, 180_000);

  afterAll(async () => {
    await driven?.close();
    await served?.stop();
    tmp.cleanup();
  });

  it('imports a backbone on the Backbones screen (a bad file refused by name), lists it and embeds the dataset', { timeout: 120_000 }, async () => {
    await page.goto(served.url);
    await page.getByText('shoes').first().waitFor();
    await page.getByRole('button', { name: /^Backbones/ }).click();
    await page.getByText('No backbones yet').waitFor();
    const before = driven.consoleErrors.length;
    await page.getByLabel('Model file path').fill(join(tmp.dir, 'missing.onnx'));
    await page.getByLabel('Backbone name').fill('tiny');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'missing.onnx does not exist' }).first().waitFor();
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).first().click();
    driven.consoleErrors.splice(before);
    await page.getByLabel('Model file path').fill(join(tmp.dir, 'tiny.onnx'));
    await page.getByLabel('Resize').selectOption('fill');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const table = page.getByRole('region', { name: 'Imported backbones' });
    await table.getByText('24-d').waitFor();
    await expect.poll(() => table.locator('tbody tr').count(), { timeout: 20_000 }).toBe(1);
    await table.getByRole('button', { name: 'Embed shoes' }).click();
    await expect.poll(() => table.locator('tbody tr td').nth(5).textContent(), { timeout: 60_000 }).toMatch(/^36 \(/);
    await shot(page, 'backbones-screen');
  });

  it('picks the backbone, shows the head fields instead of the architecture, refuses CutMix by field, and trains', { timeout: 150_000 }, async () => {
    await page.getByRole('button', { name: /^Train/ }).first().click();
    const picker = page.locator('select[name="backbone"]');
    await expect.poll(() => picker.locator('option').allTextContents(), { timeout: 20_000 }).toEqual(['none (from scratch)', 'tiny (onnx, 24-d)']);
    await expect.poll(() => page.locator('select[name="arch"]').count(), { timeout: 20_000 }).toBe(1);
    await picker.selectOption('tiny');
    await expect.poll(() => page.locator('select[name="arch"]').count(), { timeout: 20_000 }).toBe(0);
    await page.locator('input[name="headHidden"]').waitFor();
    await page.locator('input[name="epochs"]').fill('3');
    await page.locator('input[name="batchSize"]').fill('8');
    await page.getByText('valid', { exact: true }).waitFor();
    // What a frozen backbone cannot do is named at its field, by the main process.
    const before = driven.consoleErrors.length;
    await page.locator('input[name="cutmixAlpha"]').fill('1');
    await page.locator('[data-field="mixup.cutmixAlpha"] [role="alert"]').getByText(/CutMix cuts boxes out of images/).waitFor();
    await page.locator('input[name="cutmixAlpha"]').fill('0');
    await page.getByText('valid', { exact: true }).waitFor();
    driven.consoleErrors.splice(before);
    await page.getByRole('button', { name: 'Start training' }).click();
    const monitor = page.locator('[aria-label="Run monitor"]');
    await monitor.waitFor();
    await expect.poll(() => monitor.getAttribute('data-status'), { timeout: 120_000, interval: 250 }).toBe('completed');
    await shot(page, 'backbone-run-completed');
    const runs = (await runCli(['runs', 'show', '1', '--json'], { home, built: true })).json();
    expect(runs.config.model).toMatchObject({ backbone: 'tiny', head: { hidden: 0 } });
    // The embeddings came from the cache the Backbones screen filled.
    expect(runs.preprocessing.backbone).toMatchObject({ name: 'tiny', featureSize: 24 });
    expect(runs.epochs).toHaveLength(3);
    expect(driven.consoleErrors).toEqual([]);
  });
});

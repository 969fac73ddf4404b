/**
 * The Sweeps screen in a real browser (built `mixup-studio serve` + Debian's Chromium), on a small Fashion-MNIST
 * dataset indexed with the built CLI: "Sweep" beside two fields of the Train screen's config puts their keys in a
 * new sweep, the sweep runs with Hyperband and its progress, the trials table (sortable by any column) and the
 * plots (parallel coordinates, the metric per epoch, the metric by each key) show every trial, the best matches
 * the CLI's `sweep show`; "Open best in compare" opens the comparison, "Train best on all data" trains the best
 * config on train + val. A sweep started from the CLI shows up running, is cancelled from the screen and
 * resumed there to completion.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
import { ensureBuilt, openBrowser, root, shot, startServe, type Driven, type Served } from './serve-browser';

describe('the Sweeps screen', () => {
  const tmp = tempDir('mixup-e2e-sweeps-');
  const home = join(tmp.dir, 'home');
  const cli = (args: string[]) => runCli(args, { home, built: true });
  let served: Served;
  let driven: Driven;
  let page: Page;

  beforeAll(async () => {
    ensureBuilt();
    const data = join(tmp.dir, 'shoes');
    for (const c of ['ankle-boot', 'sandal', 'sneaker', 'bag']) {
      const src = join(root, 'resources', 'sample', 'fashion-mnist', c);
      mkdirSync(join(data, c), { recursive: true });
      for (const f of readdirSync(src).sort().slice(0, 30)) cpSync(join(src, f), join(data, c, f));
    }
    const r = await cli(['index', data, '--name', 'shoes', '--val-fraction', '0.25']);
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

  it('sweeps two fields chosen from the config editor, with Hyperband, and shows every trial', { timeout: 180_000 }, async () => {
    await page.goto(served.url);
    await page.getByText('shoes').first().click();
    await page.getByRole('button', { name: /^Train/ }).first().click();
    await page.locator('input[name="epochs"]').fill('4');
    await page.locator('input[name="batchSize"]').fill('16');
    await page.getByText('valid', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sweep α (MixUp)' }).click();
    // The key arrives with suggested values, which the user narrows.
    const alpha = page.getByLabel('Values of mixup.alpha');
    await expect.poll(() => alpha.inputValue()).toBe('0,0.1,0.2,0.4,1');
    await alpha.fill('0,0.4');
    await page.getByRole('button', { name: /^Train/ }).first().click();
    await page.getByRole('button', { name: 'Sweep Learning rate' }).click();
    await page.getByLabel('Values of optimizer.lr').fill('0.001,0.01');
    await page.getByLabel('Early stopping').selectOption('hyperband');
    await page.getByRole('button', { name: 'Start sweep' }).click();
    await page.getByRole('status', { name: 'Sweep progress' }).waitFor();
    const sweep = page.getByRole('region', { name: 'Sweep 1' });
    await expect.poll(() => sweep.getAttribute('data-status'), { timeout: 150_000, interval: 250 }).toBe('completed');
    const doc = (await cli(['sweep', 'show', '1', '--json'])).json();
    expect(doc.status).toBe('completed');
    expect(doc.trials.map((t: any) => t.params)).toEqual([
      { 'mixup.alpha': 0, 'optimizer.lr': 0.001 },
      { 'mixup.alpha': 0, 'optimizer.lr': 0.01 },
      { 'mixup.alpha': 0.4, 'optimizer.lr': 0.001 },
      { 'mixup.alpha': 0.4, 'optimizer.lr': 0.01 },
    ]);
    const table = page.getByRole('table', { name: 'Trials' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(4);
    await expect.poll(() => page.getByLabel('Best trial').textContent()).toContain(`run ${doc.best.run.id}`);
    // Every trial is a line of the parallel coordinates; each key has its own metric-by-value plot.
    await expect.poll(() => page.getByRole('figure', { name: 'Parallel coordinates' }).locator('path').count()).toBe(4);
    await page.getByRole('figure', { name: 'val loss by mixup.alpha' }).waitFor();
    await page.getByRole('figure', { name: 'val loss by optimizer.lr' }).waitFor();
    await page.getByRole('figure', { name: 'Metric per epoch' }).locator('polyline').first().waitFor();
    // Stopped trials say so, with the rung.
    for (const t of doc.trials.filter((x: any) => x.status === 'stopped')) await table.getByText(`stopped early @ ${t.stoppedAt}`).first().waitFor();
    // Sorted by val loss, the lowest comes first; sorted again (descending), last.
    await table.getByRole('button', { name: 'val loss' }).click();
    await expect.poll(() => table.locator('tbody tr').first().locator('td').nth(1).textContent()).toBe(String(bestByLoss(doc)));
    await table.getByRole('button', { name: /^val loss/ }).click();
    await expect.poll(() => table.locator('tbody tr').last().locator('td').nth(1).textContent()).toBe(String(bestByLoss(doc)));
    await expect.poll(() => table.locator('tbody tr').first().locator('td').nth(1).textContent()).not.toBe(String(bestByLoss(doc)));
    await shot(page, 'sweeps-screen');
    expect(driven.consoleErrors).toEqual([]);
  });

  it('opens the best in compare and trains the best config on train + val', { timeout: 120_000 }, async () => {
    const doc = (await cli(['sweep', 'show', '1', '--json'])).json();
    await page.getByRole('button', { name: 'Sweeps', exact: false }).first().click();
    await page.getByRole('button', { name: 'Train best on all data' }).click();
    await expect.poll(async () => (await cli(['runs', 'list', '--json'])).json().length, { timeout: 90_000 }).toBe(5);
    await expect.poll(async () => (await cli(['runs', 'show', '5', '--json'])).json().status, { timeout: 90_000 }).toBe('completed');
    const again = (await cli(['runs', 'show', '5', '--json'])).json();
    expect(again.config.trainOn).toBe('train+val');
    expect(again.config.mixup.alpha).toBe(doc.best.params['mixup.alpha']);
    expect(again.config.optimizer.lr).toBe(doc.best.params['optimizer.lr']);
    // Nothing was held out: the run has no validation metrics.
    expect(again.metrics.valLoss).toBeNull();
    await page.getByRole('button', { name: 'Open best in compare' }).click();
    await page.getByRole('heading', { name: 'Runs & compare' }).waitFor();
    await expect.poll(() => page.getByText(`#${doc.best.run.id}`).count()).toBeGreaterThan(0);
    // The comparison shows each completed run's calibration: a reliability diagram, ECE before → after scaling.
    await page.getByRole('figure', { name: `Reliability diagram #${doc.best.run.id}` }).waitFor();
    await expect.poll(() => page.getByRole('figure', { name: `Reliability diagram #${doc.best.run.id}` }).textContent()).toMatch(/ECE \d\.\d{3} → \d\.\d{3} at T = \d+\.\d{2} \(val\)/);
    await shot(page, 'compare-calibration');
  });

  it('compares like W&B: per-class deltas, best epoch, confusion difference, policy in words, labels, CSV', { timeout: 60_000 }, async () => {
    const compare = page.getByRole('region', { name: 'Comparison' });
    await compare.getByRole('table', { name: 'Per-class accuracy' }).getByText('sandal', { exact: true }).waitFor();
    await expect.poll(() => compare.getByRole('table', { name: 'Best epoch and final' }).textContent()).toMatch(/\(epoch \d\)/);
    await compare.getByRole('img', { name: /confusion difference, rows are true classes/ }).first().waitFor();
    await compare.getByText(/the same pair policy as #\d+/).first().waitFor();
    // The policy snapshot is not a raw JSON row of the config diff.
    expect(await compare.getByTestId('config-diff').textContent()).not.toContain('policy');
    const download = page.waitForEvent('download');
    await compare.getByRole('button', { name: 'Export comparison as CSV' }).click();
    const file = await (await download).path();
    const csv = (await import('node:fs')).readFileSync(file!, 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^metric,#\d+,#\d+/);
    expect(csv).toContain('val accuracy: sandal,');
    // Name and tag a run from the table; the CLI reads them back, and the filter finds it by tag.
    await page.getByRole('button', { name: 'Label run 2' }).click();
    await page.getByLabel('Name of run 2').fill('lr 0.01, no mixup');
    await page.getByLabel('Tags of run 2').fill('baseline keep');
    await page.getByRole('form', { name: 'Label run 2' }).getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await cli(['runs', 'list', '--json'])).json().find((r: any) => r.id === 2)).toMatchObject({ name: 'lr 0.01, no mixup', tags: ['baseline', 'keep'] });
    await page.getByLabel('Filter runs').fill('keep');
    await expect.poll(() => page.getByTestId('runs-table').locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Filter runs').fill('');
    const tableCsv = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export table as CSV' }).click();
    const rows = (await import('node:fs')).readFileSync((await (await tableCsv).path())!, 'utf8');
    expect(rows).toContain('2,"lr 0.01, no mixup",baseline keep,shoes,');
    await shot(page, 'compare-w-and-b');
    expect(driven.consoleErrors).toEqual([]);
  });

  it('shows a sweep the CLI started, cancels it from the screen and resumes it to the end', { timeout: 180_000 }, async () => {
    const base = join(tmp.dir, 'long.json');
    writeFileSync(base, JSON.stringify({ seed: 1, epochs: 60, batchSize: 16, model: { arch: 'cnn-small', inputSize: [16, 16], channels: 1 } }));
    const child = spawn(process.execPath, [join(root, 'bin', 'mixup-studio.cjs'), '--home', home, 'sweep', 'shoes', '--config', base, '--param', 'mixup.alpha=0,0.3'], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await expect.poll(async () => (await cli(['sweeps', 'list', '--json'])).json().length, { timeout: 30_000 }).toBe(2);
    await page.getByRole('button', { name: /^Sweeps/ }).first().click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('button', { name: 'Open sweep 2' }).click();
    const sweep = page.getByRole('region', { name: 'Sweep 2' });
    await expect.poll(() => sweep.getAttribute('data-status')).toBe('running');
    await sweep.getByRole('button', { name: 'Cancel sweep' }).click();
    await expect.poll(() => sweep.getAttribute('data-status'), { timeout: 60_000 }).toBe('cancelled');
    await exited;
    await sweep.getByRole('button', { name: 'Resume sweep' }).click();
    await expect.poll(() => sweep.getAttribute('data-status'), { timeout: 150_000, interval: 250 }).toBe('completed');
    const doc = (await cli(['sweep', 'show', '2', '--json'])).json();
    expect(doc.trials.map((t: any) => [t.status, t.epochs])).toEqual([
      ['completed', 60],
      ['completed', 60],
    ]);
  });
});

function bestByLoss(doc: any): number {
  const done = doc.trials.filter((t: any) => t.metrics.valLoss !== null);
  return done.reduce((a: any, b: any) => (b.metrics.valLoss < a.metrics.valLoss ? b : a)).run.id;
}

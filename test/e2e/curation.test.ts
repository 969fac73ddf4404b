/**
 * The Curate screen in a real browser (built `mixup-studio serve` + Debian's Chromium), on a dataset with a
 * known fault (a bag filed under coat, and a brightened copy of a shirt filed under coat) and a backbone set up
 * with the built CLI: the pass runs with its progress, the suspects list shows the bag and relabels it (the
 * class counts follow), the copy is grouped with its original as a conflict, a pair suggestion is accepted
 * into the pair policy with its reason, Undo takes it back, and the map draws a point per image.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir } from '../helpers/temp';
import { ensureBuilt, openBrowser, root, shot, startServe, type Driven, type Served } from './serve-browser';

describe('the Curate screen', () => {
  const tmp = tempDir('mixup-e2e-curate-');
  const home = join(tmp.dir, 'home');
  const cli = (args: string[]) => runCli(args, { home, built: true });
  let served: Served;
  let driven: Driven;
  let page: Page;
  const bag = 'coat/a-bag.png';
  const copy = 'coat/shirt-copy.png';
  let shirtOriginal = '';

  beforeAll(async () => {
    ensureBuilt();
    const data = join(tmp.dir, 'clothes');
    for (const c of ['bag', 'coat', 'shirt', 'sandal']) {
      const src = join(root, 'resources', 'sample', 'fashion-mnist', c);
      mkdirSync(join(data, c), { recursive: true });
      for (const f of readdirSync(src).sort().slice(0, 40)) cpSync(join(src, f), join(data, c, f));
    }
    const bagSrc = join(root, 'resources', 'sample', 'fashion-mnist', 'bag', readdirSync(join(root, 'resources', 'sample', 'fashion-mnist', 'bag')).sort()[60]!);
    cpSync(bagSrc, join(data, bag));
    shirtOriginal = `shirt/${readdirSync(join(data, 'shirt')).sort()[3]}`;
    const { data: px, info } = await sharp(readFileSync(join(data, shirtOriginal))).greyscale().raw().toBuffer({ resolveWithObject: true });
    writeFileSync(join(data, copy), await sharp(Buffer.from(px.map((v) => Math.min(255, v * 1.2 + 12))), { raw: { width: info.width, height: info.height, channels: 1 } }).png().toBuffer());
    writeTestBackbone(join(tmp.dir, 'pixels.onnx'), { channels: 1, size: [28, 28], dim: 8, pool: 'flatten' });
    expect((await cli(['index', data, '--name', 'clothes'])).code).toBe(0);
    const imp = await cli(['backbone', 'import', join(tmp.dir, 'pixels.onnx'), '--name', 'pixels', '--mean', '0', '--std', '1', '--resize', 'fill']);
    expect(imp.code, imp.stderr).toBe(0);
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

  it('runs a pass from the screen and lists the suspects, the conflict group and the pairs', { timeout: 150_000 }, async () => {
    await page.goto(served.url);
    await page.getByText('clothes').first().click();
    await page.getByRole('button', { name: 'Curate', exact: true }).click();
    await page.getByText('Not curated yet').waitFor();
    await page.getByRole('button', { name: 'Run curation' }).click();
    await page.getByRole('status', { name: 'Curation progress' }).waitFor();
    const issues = page.getByRole('region', { name: 'Label issues' });
    await issues.getByRole('button', { name: `Relabel ${bag} as bag` }).waitFor({ timeout: 120_000 });
    const group = page.getByRole('group', { name: /^Near-duplicate group of / }).filter({ hasText: copy });
    await expect.poll(() => group.textContent()).toContain(shirtOriginal);
    await expect.poll(() => group.textContent()).toMatch(/conflict: coat \/ shirt/);
    await group.getByRole('button', { name: `Keep only ${shirtOriginal}` }).click();
    await expect.poll(async () => (await cli(['dataset', 'show', 'clothes', '--json'])).json().excluded.map((e: any) => e.path)).toEqual([copy]);
    await page.getByRole('button', { name: 'Undo', exact: true }).click();
    await expect.poll(async () => (await cli(['dataset', 'show', 'clothes', '--json'])).json().excluded).toEqual([]);
    await page.getByRole('region', { name: 'Class pairs' }).getByRole('button', { name: /^Accept: / }).first().waitFor();
    await shot(page, 'curate-screen');
  });

  it('relabels the suspect (counts follow), accepts a pair suggestion into the policy, and undoes it', { timeout: 60_000 }, async () => {
    const issues = page.getByRole('region', { name: 'Label issues' });
    await issues.getByRole('button', { name: `Relabel ${bag} as bag` }).click();
    await expect.poll(() => issues.getByRole('button', { name: `Relabel ${bag} as bag` }).count()).toBe(0);
    const shown = (await cli(['dataset', 'show', 'clothes', '--json'])).json();
    expect(shown.classes.find((c: any) => c.name === 'bag').count).toBe(41);

    const pairs = page.getByRole('region', { name: 'Class pairs' });
    const acceptButton = pairs.getByRole('button', { name: /^Accept: / }).first();
    const label = (await acceptButton.getAttribute('aria-label'))!;
    const [, , a, b] = /^Accept: (forbid|down-weight) (\S+) × (\S+)$/.exec(label)!;
    await acceptButton.click();
    await expect.poll(async () => (await cli(['policy', 'list', 'clothes', '--json'])).json().map((p: any) => `${p.a}×${p.b}`)).toEqual([`${a}×${b}`]);
    const policy = (await cli(['policy', 'list', 'clothes', '--json'])).json()[0];
    expect(policy.note).toMatch(/^curation \(pixels\): /);

    await page.getByRole('button', { name: 'Undo', exact: true }).click();
    await expect.poll(async () => (await cli(['policy', 'list', 'clothes', '--json'])).json()).toEqual([]);
    await pairs.getByRole('button', { name: label }).waitFor();
  });

  it('draws the map with a point per image, and its tooltip names the image under the pointer', { timeout: 60_000 }, async () => {
    const map = page.getByRole('img', { name: /^Embedding map: 162 images by UMAP/ });
    await map.scrollIntoViewIfNeeded();
    const canvas = map.locator('canvas');
    const lit = await canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! + d[i + 1]! + d[i + 2]! > 200) n++;
      return n;
    });
    expect(lit).toBeGreaterThan(162);
    // Hover the brightest pixel: a point, whose tooltip names its file.
    const spot = await canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) if (d[i]! + d[i + 1]! + d[i + 2]! > 300) return { x: ((i / 4) % c.width) / c.width, y: Math.floor(i / 4 / c.width) / c.height };
      return null;
    });
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + spot!.x * box.width + 1, box.y + spot!.y * box.height + 1);
    await expect.poll(() => page.getByRole('tooltip').textContent()).toMatch(/(bag|coat|shirt|sandal)\/\S+\.png/);
    await shot(page, 'curate-map');
    expect(driven.consoleErrors, driven.consoleErrors.join('\n')).toEqual([]);
  });
});

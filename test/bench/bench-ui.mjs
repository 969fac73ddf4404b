#!/usr/bin/env node
/**
 * UI benchmark (`npm run bench:ui`): a synthetic home with 1,000,000 images in 1,000 classes, served by the
 * built `mixup-studio serve`, opened in headless Chromium. Prints
 *   - gallery scroll: time from a scroll jump to the next painted frame with the new rows laid out, and to
 *     the moment every visible tile has its page of `datasets:images` (data in, <img> in place);
 *   - policy matrix (1,000 × 1,000): time from a click on a cell to the repainted frame;
 *   - the curation map of a second dataset of 100,000 images (a stored pass with its map written straight into
 *     the schema): opening it (Curate screen → the map drawn), a full redraw, hover → tooltip frame, a lasso;
 * each as median / p95 / max against the target (≤ 100 ms).
 * Needs `npm run build` first. Rows are written straight into the datasets schema (migration 0002) with
 * better-sqlite3; every image shares one real WebP thumbnail so media requests are served, not failed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = Number(process.env.BENCH_UI_IMAGES ?? 1_000_000);
const CLASSES = Number(process.env.BENCH_UI_CLASSES ?? 1_000);
const MAP_POINTS = Number(process.env.BENCH_UI_MAP_POINTS ?? 100_000);
const TARGET_MS = 100;
const cli = join(root, 'bin', 'mixup-studio.cjs');
if (!existsSync(join(root, 'out', 'main', 'cli.js')) || !existsSync(join(root, 'out', 'renderer', 'index.html'))) {
  console.error('bench-ui: run `npm run build` first (out/main/cli.js and out/renderer are needed)');
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'mixup-bench-ui-'));
const home = join(tmp, 'home');
const cleanup = () => rmSync(tmp, { recursive: true, force: true });

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: q(0.5), p95: q(0.95), max: s[s.length - 1] };
}
function line(name, st) {
  const ok = st.p95 <= TARGET_MS ? 'OK' : 'OVER';
  return `${name.padEnd(44)} median ${st.median.toFixed(1).padStart(7)} ms  p95 ${st.p95.toFixed(1).padStart(7)} ms  max ${st.max.toFixed(1).padStart(7)} ms  (n=${st.n}; target ≤ ${TARGET_MS} ms: ${ok}, p95/target ${(st.p95 / TARGET_MS).toFixed(2)})`;
}

async function buildHome() {
  // Migrations by the app itself (so the schema is exactly the one in use), then rows written directly.
  const r = spawnSync(process.execPath, [cli, '--home', home, 'datasets', '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mixup-studio datasets failed: ${r.stderr}`);
  const db = new Database(join(home, 'mixup-studio.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const t0 = performance.now();
  const dataRoot = join(tmp, 'synthetic');
  mkdirSync(dataRoot, { recursive: true });
  const ds = db.prepare(`INSERT INTO datasets (name, root, layout, scan_state, scanned_at) VALUES (?, ?, 'folders', 'complete', strftime('%Y-%m-%dT%H:%M:%fZ','now'))`).run('synthetic-1m', dataRoot).lastInsertRowid;
  const insClass = db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)');
  const classIds = [];
  db.transaction(() => {
    for (let c = 0; c < CLASSES; c++) classIds.push(insClass.run(ds, `class-${String(c).padStart(4, '0')}`).lastInsertRowid);
  })();
  const ins = db.prepare(
    `INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels, status, verified, thumb)
     VALUES (?, ?, ?, ?, 'auto', 784, 0, ?, 'png', 28, 28, 1, 'ok', 1, 'bench.webp')`,
  );
  const perClass = Math.ceil(IMAGES / CLASSES);
  db.transaction(() => {
    for (let i = 0; i < IMAGES; i++) {
      const c = Math.floor(i / perClass);
      const split = i % 10 < 8 ? 'train' : 'val';
      ins.run(ds, `class-${String(c).padStart(4, '0')}/img-${String(i).padStart(7, '0')}.png`, classIds[c], split, `h${i.toString(16).padStart(15, '0')}`);
    }
  })();
  writeMapDataset(db, dataRoot);
  db.close();
  // One real thumbnail that every row points at.
  const sample = join(root, 'resources', 'sample', 'fashion-mnist', 'bag');
  await sharp(join(sample, readdirSync(sample)[0])).resize(96, 96).webp().toFile(join(home, 'thumbs', 'bench.webp'));
  return (performance.now() - t0) / 1000;
}

/**
 * A second dataset ('zz-map', listed after the first) of MAP_POINTS images in 10 classes with a stored curation
 * pass whose map has a point per image: 10 clusters, 1 % of the points label suspects.
 */
function writeMapDataset(db, dataRoot) {
  const ds = db.prepare(`INSERT INTO datasets (name, root, layout, scan_state, scanned_at) VALUES ('zz-map', ?, 'folders', 'complete', strftime('%Y-%m-%dT%H:%M:%fZ','now'))`).run(join(dataRoot, 'map')).lastInsertRowid;
  const classes = Array.from({ length: 10 }, (_, k) => `kind-${k}`);
  const classIds = classes.map((c) => db.prepare('INSERT INTO classes (dataset_id, name) VALUES (?, ?)').run(ds, c).lastInsertRowid);
  const ins = db.prepare(
    `INSERT INTO images (dataset_id, rel_path, class_id, split, split_source, bytes, mtime_ms, hash, format, width, height, channels, status, verified, thumb)
     VALUES (?, ?, ?, 'train', 'auto', 784, 0, ?, 'png', 28, 28, 1, 'ok', 1, 'bench.webp')`,
  );
  const paths = [];
  const xy = new Float32Array(MAP_POINTS * 2);
  let seed = 99;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const labelIssues = [];
  db.transaction(() => {
    for (let i = 0; i < MAP_POINTS; i++) {
      const k = i % 10;
      const rel = `${classes[k]}/p-${String(i).padStart(6, '0')}.png`;
      ins.run(ds, rel, classIds[k], `m${i.toString(16).padStart(15, '0')}`);
      paths.push(rel);
      const a = (k / 10) * Math.PI * 2;
      xy[i * 2] = Math.max(-1, Math.min(1, 0.6 * Math.cos(a) + (rand() + rand() + rand() - 1.5) * 0.15));
      xy[i * 2 + 1] = Math.max(-1, Math.min(1, 0.6 * Math.sin(a) + (rand() + rand() + rand() - 1.5) * 0.15));
      if (i % 100 === 7) labelIssues.push({ path: rel, given: classes[k], suggested: classes[(k + 1) % 10], score: 0.9, split: 'train' });
    }
  })();
  const bb = db
    .prepare(`INSERT INTO backbones (name, format, file, sha256, bytes, source, input_name, output_name, feature_size, preprocessing) VALUES ('bench', 'onnx', 'backbones/none.onnx', 'none', 0, 'bench', 'x', 'y', 64, ?)`)
    .run(JSON.stringify({ inputSize: [28, 28], channels: 1, scale: 1 / 255, mean: [0], std: [1], resize: 'fill', layout: 'NCHW' })).lastInsertRowid;
  const result = {
    dataset: { id: Number(ds), name: 'zz-map' },
    backbone: { id: Number(bb), name: 'bench' },
    images: MAP_POINTS,
    embeddings: { computed: 0, cached: MAP_POINTS },
    duplicateCheck: { shortlisted: 0, compared: 0, thumbnails: { computed: 0, cached: 0 } },
    skipped: [],
    labelIssues,
    nearDuplicates: [],
    outliers: [],
    pairs: [],
    params: { folds: 5, seed: 0, alpha: 0.2, duplicateThreshold: 0.96, shortlist: 0.9, top: 100, map: 'umap', intrusion: 'embeddings' },
    map: { method: 'umap', points: MAP_POINTS },
    createdAt: new Date().toISOString(),
    seconds: 0,
  };
  db.prepare('INSERT INTO curations (dataset_id, backbone_id, params, result, map, map_paths, content) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    ds,
    bb,
    JSON.stringify(result.params),
    JSON.stringify(result),
    Buffer.from(xy.buffer),
    JSON.stringify(paths),
    'bench',
  );
}

/** The curation map of 'zz-map': open, redraw, hover, lasso. */
async function measureMap(page) {
  await page.getByRole('button', { name: /^Datasets/ }).first().click();
  await page.getByRole('region', { name: 'Indexed datasets' }).getByText('zz-map').click();
  const t0 = performance.now();
  await page.getByRole('button', { name: /^Curate/ }).first().click();
  const map = page.getByRole('img', { name: new RegExp(`^Embedding map: ${MAP_POINTS} images`) });
  await map.waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-draw-ms]')?.getAttribute('data-draw-ms')) > 0);
  const openMs = performance.now() - t0;
  await map.scrollIntoViewIfNeeded();
  return {
    openMs,
    ...(await page.evaluate(async () => {
      const c = document.querySelector('[data-draw-ms]');
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
      const rect = c.getBoundingClientRect();
      let seed = 4242;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const draws = [Number(c.getAttribute('data-draw-ms'))];
      const hovers = [];
      for (let k = 0; k < 40; k++) {
        const x = rect.left + (0.2 + 0.6 * rand()) * rect.width;
        const y = rect.top + (0.2 + 0.6 * rand()) * rect.height;
        const t = performance.now();
        c.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true }));
        await Promise.resolve();
        await frame();
        hovers.push(performance.now() - t);
      }
      // Lassos: a shift-drag of 30 moves around a random box, then the selection and the full redraw.
      const lassos = [];
      for (let k = 0; k < 10; k++) {
        const cx = rect.left + (0.3 + 0.4 * rand()) * rect.width;
        const cy = rect.top + (0.3 + 0.4 * rand()) * rect.height;
        const r = 0.08 * rect.width;
        c.dispatchEvent(new PointerEvent('pointerdown', { clientX: cx + r, clientY: cy, shiftKey: true, bubbles: true, pointerId: 1 }));
        for (let m = 1; m <= 30; m++) {
          const a = (m / 30) * Math.PI * 2;
          c.dispatchEvent(new PointerEvent('pointermove', { clientX: cx + r * Math.cos(a), clientY: cy + r * Math.sin(a), shiftKey: true, bubbles: true, pointerId: 1 }));
        }
        await frame();
        const t = performance.now();
        c.dispatchEvent(new PointerEvent('pointerup', { clientX: cx + r, clientY: cy, shiftKey: true, bubbles: true, pointerId: 1 }));
        await Promise.resolve();
        await frame();
        lassos.push(performance.now() - t);
        draws.push(Number(c.getAttribute('data-draw-ms')));
      }
      const picked = document.querySelector('[aria-label="Selected on the map"]')?.textContent ?? '';
      return { draws, hovers, lassos, picked: picked.trim().split(/\s+/)[0] };
    })),
  };
}

function startServe() {
  const child = spawn(process.execPath, [cli, '--home', home, 'serve', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((res, rej) => {
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) res({ child, url: JSON.parse(out.slice(0, nl)).url });
    });
    child.on('close', (code) => rej(new Error(`serve exited ${code}: ${err}`)));
  });
}

async function main() {
  console.log(`bench-ui: building a home with ${IMAGES.toLocaleString('en-US')} images in ${CLASSES.toLocaleString('en-US')} classes…`);
  const buildSeconds = await buildHome();
  console.log(`bench-ui: rows written in ${buildSeconds.toFixed(1)} s`);
  const served = await startServe();
  const context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(120_000);
    const tOpen = performance.now();
    await page.goto(served.url);
    const gallery = page.getByTestId('gallery-viewport');
    await gallery.locator('img').first().waitFor();
    console.log(`bench-ui: page open → first thumbnails ${(performance.now() - tOpen).toFixed(0)} ms (datasets:list + datasets:show + first page)`);
    const galleryCount = await page.getByTestId('gallery-count').textContent();
    console.log(`bench-ui: gallery says: ${galleryCount}`);

    // Gallery: jumps across the whole 1,000,000 (worst case: every jump lands on uncached pages).
    const gallerySamples = await page.evaluate(async () => {
      performance.setResourceTimingBufferSize(100_000);
      performance.clearResourceTimings();
      const vp = document.querySelector('[data-testid="gallery-viewport"]');
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
      const frames = [];
      const scripts = [];
      const loads = [];
      // Svelte applies state changes in a microtask queued by the scroll handler; after it the DOM is updated.
      const flushed = async () => {
        await Promise.resolve();
        await Promise.resolve();
      };
      const domCounts = [];
      let seed = 12345;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      for (let k = 0; k < 40; k++) {
        const target = Math.floor(rand() * (vp.scrollHeight - vp.clientHeight));
        const t0 = performance.now();
        vp.scrollTop = target;
        vp.dispatchEvent(new Event('scroll'));
        await flushed();
        scripts.push(performance.now() - t0);
        await frame();
        await frame();
        frames.push(performance.now() - t0);
        // Until every tile in view has its <img> (its page of datasets:images arrived).
        const deadline = t0 + 10_000;
        for (;;) {
          const tiles = [...vp.querySelectorAll('.tile')];
          const top = vp.scrollTop;
          const inView = tiles.filter((t) => {
            const y = parseFloat(t.style.top);
            return y + 96 > top && y < top + vp.clientHeight;
          });
          if (inView.length > 0 && inView.every((t) => t.querySelector('img'))) break;
          if (performance.now() > deadline) break;
          await frame();
        }
        loads.push(performance.now() - t0);
        domCounts.push(vp.querySelectorAll('.tile').length);
      }
      // Dragging the scrollbar: 60 big moves, one per frame, then until the view is filled.
      const dragStart = performance.now();
      for (let k = 0; k < 60; k++) {
        vp.scrollTop = Math.floor(((k + 1) / 61) * (vp.scrollHeight - vp.clientHeight));
        vp.dispatchEvent(new Event('scroll'));
        await frame();
      }
      const dragFrames = (performance.now() - dragStart) / 60;
      for (const deadline = performance.now() + 10_000; performance.now() < deadline; ) {
        const top = vp.scrollTop;
        const inView = [...vp.querySelectorAll('.tile')].filter((t) => {
          const y = parseFloat(t.style.top);
          return y + 96 > top && y < top + vp.clientHeight;
        });
        if (inView.length > 0 && inView.every((t) => t.querySelector('img'))) break;
        await frame();
      }
      const dragSettle = performance.now() - dragStart - dragFrames * 60;
      // Smooth scrolling: small steps, one per frame.
      const steps = [];
      for (let k = 0; k < 60; k++) {
        const t0 = performance.now();
        vp.scrollTop += 120;
        vp.dispatchEvent(new Event('scroll'));
        await frame();
        steps.push(performance.now() - t0);
      }
      // Server time of the paging op, as the browser saw it (request → last byte).
      const paging = performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('/api/call/datasets%3Aimages'))
        .map((e) => e.responseEnd - e.startTime);
      return { frames, scripts, loads, steps, paging, dragFrames, dragSettle, maxTiles: Math.max(...domCounts) };
    });

    // Policy matrix: 1,000 × 1,000 clicks.
    await page.getByRole('button', { name: /^Pair policy/ }).first().click();
    const canvas = page.getByTestId('policy-matrix');
    await canvas.waitFor();
    await page.waitForFunction((n) => document.querySelector('[data-testid="matrix-paint-ms"]')?.textContent?.startsWith(`${n} × ${n}`), CLASSES);
    const matrix = await page.evaluate(async () => {
      const c = document.querySelector('[data-testid="policy-matrix"]');
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
      const gutter = Number(c.dataset.gutter);
      const cell = Number(c.dataset.cell);
      const rect = c.getBoundingClientRect();
      const clicks = [];
      const clickScripts = [];
      const paints = [];
      let seed = 777;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const visibleCells = Math.floor((rect.width - gutter) / cell);
      for (let k = 0; k < 40; k++) {
        const col = Math.floor(rand() * visibleCells);
        const row = Math.floor(rand() * visibleCells);
        const x = rect.left + gutter + col * cell + cell / 2;
        const y = rect.top + gutter + row * cell + cell / 2;
        const t0 = performance.now();
        c.dispatchEvent(new MouseEvent('click', { clientX: x, clientY: y, bubbles: true }));
        await Promise.resolve();
        await Promise.resolve();
        clickScripts.push(performance.now() - t0);
        await frame();
        clicks.push(performance.now() - t0);
        paints.push(Number(document.querySelector('[data-testid="matrix-paint-ms"]').dataset.paintMs));
        await new Promise((r) => setTimeout(r, 30));
      }
      // Full redraws: scroll the (zoomed) matrix.
      const zoom = document.querySelector('input[aria-label="Cell size"]');
      zoom.value = '8';
      zoom.dispatchEvent(new Event('input', { bubbles: true }));
      await frame();
      const scroller = c.parentElement.parentElement;
      const scrolls = [];
      const scrollPaints = [];
      for (let k = 0; k < 30; k++) {
        const t0 = performance.now();
        scroller.scrollTop = Math.floor(rand() * (scroller.scrollHeight - scroller.clientHeight));
        scroller.scrollLeft = Math.floor(rand() * (scroller.scrollWidth - scroller.clientWidth));
        scroller.dispatchEvent(new Event('scroll'));
        await frame();
        await frame();
        scrolls.push(performance.now() - t0);
        scrollPaints.push(Number(document.querySelector('[data-testid="matrix-paint-ms"]').dataset.paintMs));
      }
      return { clicks, clickScripts, paints, scrolls, scrollPaints, cell, visibleCells };
    });
    const forbidden = await page.getByTestId('forbidden-pairs').locator('li').count();
    const mapMs = await measureMap(page);

    console.log('');
    console.log(`UI bench — ${IMAGES.toLocaleString('en-US')} images, ${CLASSES.toLocaleString('en-US')} classes, headless Chromium (--disable-gpu), ${new Date().toISOString()}`);
    console.log('(frame times include waiting for two requestAnimationFrame callbacks, ≥ 16.7 ms at 60 Hz)');
    console.log(line('gallery scroll jump → DOM updated (script)', stats(gallerySamples.scripts)));
    console.log(line('gallery scroll jump → painted frame', stats(gallerySamples.frames)));
    console.log(line('gallery scroll jump → visible tiles filled', stats(gallerySamples.loads)));
    console.log(line('gallery small scroll step → painted frame', stats(gallerySamples.steps)));
    console.log(line('  of which: datasets:images request (HTTP)', stats(gallerySamples.paging)));
    console.log(`gallery scrollbar drag (60 moves, 1 per frame): mean frame ${gallerySamples.dragFrames.toFixed(1)} ms; view filled ${gallerySamples.dragSettle.toFixed(0)} ms after the last move`);
    console.log(`  (tiles in the DOM at most: ${gallerySamples.maxTiles} of ${IMAGES.toLocaleString('en-US')})`);
    console.log(line('matrix click → canvas + DOM updated (script)', stats(matrix.clickScripts)));
    console.log(line('matrix click → repainted frame', stats(matrix.clicks)));
    console.log(line('matrix click: canvas paint itself', stats(matrix.paints)));
    console.log(line('matrix scroll (cell 8 px) → full redraw frame', stats(matrix.scrolls)));
    console.log(line('matrix scroll: canvas full redraw itself', stats(matrix.scrollPaints)));
    console.log(`  (matrix 1,000 × 1,000, fit cell ${matrix.cell} px; ${forbidden} pairs forbidden by the clicks)`);
    console.log(`curation map, ${MAP_POINTS.toLocaleString('en-US')} points: Curate screen → map drawn ${mapMs.openMs.toFixed(0)} ms (curation:show + curation:map over HTTP + first draw)`);
    console.log(line('map repaint (first draw, then the selection)', stats(mapMs.draws)));
    console.log(line('map hover → tooltip frame', stats(mapMs.hovers)));
    console.log(line('map lasso release → selection redrawn frame', stats(mapMs.lassos)));
    console.log(`  (the last lasso selected ${mapMs.picked} points)`);
  } finally {
    await context.close();
    served.child.kill('SIGTERM');
    await new Promise((r) => served.child.on('close', r));
    cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  cleanup();
  process.exit(1);
});

import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Node entry points of the main-process bundle. The CLI, workers and child processes live beside the
// Electron entry so that one build serves the app, the command line and `serve`.
const mainInputs: Record<string, string> = {
  index: resolve('src-main/index.ts'),
  cli: resolve('src-main/cli/main.ts'),
  'scan-worker': resolve('src-main/datasets/scan-worker.ts'),
  'verify-worker': resolve('src-main/datasets/verify-worker.ts'),
  'train-worker': resolve('src-main/training/worker.ts'),
  'decode-worker': resolve('src-main/training/decode-worker.ts'),
  'curation-thumb-worker': resolve('src-main/curation/thumb-worker.ts'),
};

export default defineConfig({
  main: {
    build: {
      // zod is bundled and tree-shaken: its 64 locale files are no longer loaded (`--version` went from 0.27 to ~0.2 s).
      externalizeDeps: { exclude: ['zod'] },
      rollupOptions: { input: mainInputs },
    },
  },
  preload: {
    build: {
      rollupOptions: { input: { index: resolve('src-main/preload/index.ts') } },
    },
  },
  renderer: {
    root: 'src-renderer',
    plugins: [svelte()],
    build: {
      rollupOptions: { input: { index: resolve('src-renderer/index.html') } },
    },
  },
});

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Locates the Node entry points (worker threads, child processes) of the build.
 *
 * Bundled (the CLI, serve, the Electron app): `out/main/<name>.js` under the package root, built from the
 * inputs listed in electron.vite.config.ts. Under vitest (sources, no build): `src-main/<source>.ts`, started
 * with tsx's loader so tests exercise the same code without a build step.
 */
export interface EntryPoint {
  file: string;
  /** Extra Node flags the worker/child needs (`--import tsx` when running from sources). */
  execArgv: string[];
}

let rootCache: string | undefined;

/** The folder holding the project's package.json (inside app.asar when packaged). */
export function packageRoot(): string {
  if (rootCache) return rootCache;
  let dir = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'mixup-studio') return (rootCache = dir);
      } catch {
        /* not ours; keep walking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return (rootCache = process.cwd());
    dir = up;
  }
}

export function runningFromSources(): boolean {
  return Boolean(process.env.VITEST) || process.env.MIXUP_STUDIO_FROM_SOURCES === '1';
}

/**
 * `name` is the bundle name given in electron.vite.config.ts (e.g. `train-worker`), `source` the file under
 * src-main/ it is built from (e.g. `training/worker.ts`).
 */
export function workerEntry(name: string, source: string): EntryPoint {
  const root = packageRoot();
  if (runningFromSources()) {
    return { file: join(root, 'src-main', source), execArgv: ['--import', 'tsx'] };
  }
  return { file: join(root, 'out', 'main', `${name}.js`), execArgv: [] };
}

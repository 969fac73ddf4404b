import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws with the raw text if it is not exactly one JSON document). */
  json<T = any>(): T;
}

const root = resolve(__dirname, '..', '..');

/**
 * Runs `mixup-studio` as a user would, in a child process. By default from the TypeScript sources
 * (through tsx: no build needed); `{ built: true }` runs the bundled `bin/mixup-studio.cjs` instead.
 */
export function runCli(
  args: string[],
  opts: { home?: string; built?: boolean; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  const argv = [...(opts.home ? ['--home', opts.home] : []), ...args];
  const nodeArgs = opts.built
    ? [join(root, 'bin', 'mixup-studio.cjs'), ...argv]
    : ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), ...argv];
  if (opts.built && !existsSync(join(root, 'out', 'main', 'cli.js'))) {
    throw new Error('out/main/cli.js is missing: run `npm run build` before the built-CLI tests');
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: opts.cwd ?? root,
      env: { ...process.env, ...(opts.built ? {} : { MIXUP_STUDIO_FROM_SOURCES: '1' }), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? -1,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not one JSON document:\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

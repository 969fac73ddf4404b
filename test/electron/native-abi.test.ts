/**
 * build/native-abi.mjs keeps the Node build of the native addons (what the CLI and tests load) in place
 * around the Electron rebuilds. Run for real on a scratch project whose `electron-builder` is a script that
 * overwrites the addon the way @electron/rebuild does (the real one needs the network).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = resolve(__dirname, '..', '..', 'build', 'native-abi.mjs');
let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function project(): { root: string; addon: string } {
  const root = mkdtempSync(join(tmpdir(), 'mixup-native-'));
  scratch = root;
  const pkg = join(root, 'node_modules', 'better-sqlite3');
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
  writeFileSync(join(pkg, 'binding.gyp'), '{}');
  const addon = join(pkg, 'build', 'Release', 'better_sqlite3.node');
  writeFileSync(addon, 'NODE-BUILD');
  mkdirSync(join(root, 'node_modules', 'electron'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'electron', 'package.json'), '{"version":"45.5.0"}');
  mkdirSync(join(root, 'node_modules', '.bin'));
  // Stand-in for electron-builder: rebuilds the addon for Electron in place; `--fail` exits 3.
  const eb = join(root, 'node_modules', '.bin', 'electron-builder');
  writeFileSync(eb, `#!/bin/sh\nprintf ELECTRON-BUILD > "${addon}"\nfor a in "$@"; do [ "$a" = "--fail" ] && exit 3; done\nexit 0\n`);
  chmodSync(eb, 0o755);
  return { root, addon };
}

function runScript(root: string, args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { env: { ...process.env, MIXUP_NATIVE_ROOT: root }, encoding: 'utf8' });
}

describe('build/native-abi.mjs', () => {
  it('packaging leaves the Node build of the addon in place, even when electron-builder fails', () => {
    const { root, addon } = project();
    expect(runScript(root, ['package', '--', '--linux']).status).toBe(0);
    expect(readFileSync(addon, 'utf8')).toBe('NODE-BUILD');
    const failed = runScript(root, ['package', '--', '--linux', '--fail']);
    expect(failed.status).toBe(3);
    expect(readFileSync(addon, 'utf8')).toBe('NODE-BUILD');
  });

  it('rebuild-electron keeps both builds; run swaps the Electron one in for the command and back afterwards', () => {
    const { root, addon } = project();
    const missing = runScript(root, ['run', '--', 'cat', addon]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/npm run rebuild:electron/);
    expect(runScript(root, ['rebuild-electron']).status).toBe(0);
    expect(readFileSync(addon, 'utf8')).toBe('NODE-BUILD');
    const during = runScript(root, ['run', '--', 'cat', addon]);
    expect(during.status).toBe(0);
    expect(during.stdout).toBe('ELECTRON-BUILD');
    expect(readFileSync(addon, 'utf8')).toBe('NODE-BUILD');
  });
});

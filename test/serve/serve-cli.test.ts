/**
 * `mixup-studio serve` as a user starts it: a child process (from the TypeScript sources through tsx),
 * its first stdout line, then SIGTERM / SIGINT and a clean exit with the database closed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

const root = resolve(__dirname, '..', '..');

function startServe(home: string, args: string[]): { child: ChildProcessWithoutNullStreams; firstLine: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), '--home', home, 'serve', ...args], {
    cwd: root,
    env: { ...process.env, MIXUP_STUDIO_FROM_SOURCES: '1' },
  });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const firstLine = new Promise<string>((resolveLine, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolveLine(out.slice(0, nl));
    });
    child.on('close', (code) => reject(new Error(`serve exited (${code}) before printing a line; stderr:\n${err}`)));
  });
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, firstLine, exit, stderr: () => err };
}

describe('mixup-studio serve (command line)', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  const homes: Array<{ cleanup(): void }> = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const h of homes.splice(0)) h.cleanup();
  });

  it('with --port 0 --json prints {"url"} as the first stdout line, serves on it, and SIGTERM closes the database cleanly', async () => {
    const home = tempDir('mixup-serve-home-');
    homes.push(home);
    const s = startServe(home.dir, ['--port', '0', '--json']);
    children.push(s.child);
    const line = await s.firstLine;
    const doc = JSON.parse(line) as { url: string };
    expect(Object.keys(doc)).toEqual(['url']);
    expect(doc.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/\?token=[0-9a-f]{64}$/);
    const u = new URL(doc.url);
    const token = u.searchParams.get('token')!;
    expect((await fetch(`${u.origin}/api/call/system:info`, { method: 'POST', body: '{}' })).status).toBe(401);
    const info = await fetch(`${u.origin}/api/call/system:info`, { method: 'POST', headers: { 'x-mixup-token': token }, body: '{}' });
    expect(((await info.json()) as { result: { home: string } }).result.home).toBe(home.dir);
    expect(existsSync(join(home.dir, 'mixup-studio.sqlite-wal'))).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    // better-sqlite3 checkpoints and removes the WAL file only when the connection is closed properly.
    expect(existsSync(join(home.dir, 'mixup-studio.sqlite-wal'))).toBe(false);
    expect(s.stderr()).toMatch(/SIGTERM: stopping/);
  });

  it('a bad --port is a usage error naming the value', async () => {
    const home = tempDir('mixup-serve-home-');
    homes.push(home);
    const r = await runCli(['serve', '--port', 'eighty'], { home: home.dir, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port: 'eighty' is not a port number/);
  });

  it('warns on stderr when --host is not a loopback address', async () => {
    const home = tempDir('mixup-serve-home-');
    homes.push(home);
    const s = startServe(home.dir, ['--port', '0', '--host', '0.0.0.0', '--json']);
    children.push(s.child);
    const doc = JSON.parse(await s.firstLine) as { url: string };
    expect(doc.url, 'the address to open here is still the loopback one').toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    expect(s.stderr()).toMatch(/not a loopback address/);
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
  });

  it('a bad --allow-host is a usage error naming the value', async () => {
    const home = tempDir('mixup-serve-home-');
    homes.push(home);
    const r = await runCli(['serve', '--port', '0', '--allow-host', 'box.lan', '--allow-host', 'evil.example:80'], { home: home.dir, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--allow-host: 'evil\.example:80' is not a host name/);
  });

  it('with --host 0.0.0.0 keeps the Host check (403 for a foreign name) and accepts each --allow-host name', async () => {
    const home = tempDir('mixup-serve-home-');
    homes.push(home);
    const s = startServe(home.dir, ['--port', '0', '--host', '0.0.0.0', '--allow-host', 'box.lan', '--allow-host', 'proxy.example', '--json']);
    children.push(s.child);
    const u = new URL((JSON.parse(await s.firstLine) as { url: string }).url);
    const token = u.searchParams.get('token')!;
    const { request } = await import('node:http');
    const statusWithHost = (host: string) =>
      new Promise<number>((resolveStatus, reject) => {
        const req = request({ host: '127.0.0.1', port: Number(u.port), path: '/api/call/system:info', method: 'POST', headers: { host, 'x-mixup-token': token } }, (res) => {
          res.resume();
          resolveStatus(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
    expect(await statusWithHost(`evil.example:${u.port}`), 'a DNS-rebound name').toBe(403);
    expect(await statusWithHost(`box.lan:${u.port}`)).toBe(200);
    expect(await statusWithHost(`proxy.example:${u.port}`)).toBe(200);
    expect(await statusWithHost(`127.0.0.1:${u.port}`)).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });
});

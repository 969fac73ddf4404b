// Shared by the command-line benchmarks (bench-index, bench-verify): flags, logging, timed child runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);

/** The value of `--name VALUE` on the command line, or `dflt`. */
export const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

/** Whether `--name` is on the command line. */
export const flag = (name) => args.includes(`--${name}`);

export const log = (s) => process.stderr.write(`${s}\n`);

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** /usr/bin/time, when present, gives each run's CPU seconds. */
export const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Exits with a message when the CLI bundle is missing. */
export function requireBuild(repo) {
  if (!existsSync(join(repo, 'out', 'main', 'cli.js'))) {
    log('out/main/cli.js is missing: run `npm run build` first');
    process.exit(1);
  }
}

/** Runs a command; wall seconds, and CPU seconds (user + sys, all threads) when /usr/bin/time is there. */
export function timedIn(work, cmd, argv, env = {}) {
  const cpuFile = join(work, 'cpu.txt');
  const [c, a] = TIME ? [TIME, ['-f', '%U %S', '-o', cpuFile, cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  let cpu = NaN;
  if (TIME) {
    const [u, sy] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpu = u + sy;
  }
  return { s, cpu, stdout: r.stdout };
}

/**
 * The threaded wasm build runs under plain Node (pthread workers started without blob: URLs) and gives
 * bit-identical training results to the single-threaded build; its workers do not keep the process alive
 * (execFileSync's timeout would fail the test).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const child = path.join(__dirname, 'grads-child.ts');

function run(threads: number): { threads: number; device: string; hash: string } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, String(threads)], { encoding: 'utf8', timeout: 50_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('wasm threads', () => {
  it('2 XNNPACK threads start in Node, train to bit-identical losses and weights as 1 thread, and let the process exit', () => {
    const one = run(1);
    const two = run(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.device).toMatch(/2 threads/);
    expect(two.hash).toBe(one.hash);
  });
});

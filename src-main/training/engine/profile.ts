/**
 * Per-kernel profile of one training step, from tfjs's own kernel timers (`tf.profile`): on wasm and cpu
 * a kernel's time is its synchronous wall time; on GPU backends it is the device time the backend reports.
 */
type Tf = typeof import('@tensorflow/tfjs');

export interface KernelProfile {
  kernel: string;
  calls: number;
  ms: number;
  /** Share of the summed kernel time, 0..1. */
  share: number;
}

export interface StepProfile {
  wallMs: number;
  kernelMs: number;
  kernels: KernelProfile[];
}

/** Runs `step` once under tf.profile and sums kernel time by kernel name (largest first). */
export async function profileStep(tf: Tf, step: () => unknown): Promise<StepProfile> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    const out = await step();
    // tf.profile keeps returned tensors; a step's own result (a loss) is disposed by the caller's tidy.
    return out instanceof tf.Tensor ? out : undefined;
  });
  const wallMs = performance.now() - t0;
  const by = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    // Ops with a custom gradient (e.g. fusedConv2d__op) appear as wrappers around the kernels they run.
    if (k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = by.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += ms;
    by.set(k.name, e);
  }
  const kernelMs = [...by.values()].reduce((s, e) => s + e.ms, 0);
  const kernels = [...by.entries()]
    .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ms, share: kernelMs > 0 ? e.ms / kernelMs : 0 }))
    .sort((a, b) => b.ms - a.ms || a.kernel.localeCompare(b.kernel));
  return { wallMs, kernelMs, kernels };
}

/** A fixed-width text table of a profile (top `limit` kernels). */
export function formatProfile(p: StepProfile, limit = 15): string {
  const lines = [`kernel                                calls      ms   share`];
  for (const k of p.kernels.slice(0, limit)) {
    lines.push(`${k.kernel.padEnd(36)} ${String(k.calls).padStart(6)} ${k.ms.toFixed(1).padStart(8)} ${(k.share * 100).toFixed(1).padStart(6)}%`);
  }
  lines.push(`${'(sum of kernels)'.padEnd(36)} ${''.padStart(6)} ${p.kernelMs.toFixed(1).padStart(8)}   wall ${p.wallMs.toFixed(1)} ms`);
  return lines.join('\n');
}

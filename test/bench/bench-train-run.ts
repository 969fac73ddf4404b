/**
 * One tfjs side of `npm run bench:train`, in its own process (the wasm backend picks its thread count once per
 * process). Usage: node --import tsx test/bench/bench-train-run.ts '{"backend":"wasm","threads":2,"steps":20}'
 * Prints one JSON line: the BenchTrainResult (with the per-kernel profile when asked).
 */
import { benchTrainStep, type BenchTrainOptions } from '../../src-main/training/engine/bench';

void (async () => {
  const opts = JSON.parse(process.argv[2] ?? '{}') as BenchTrainOptions;
  try {
    const r = await benchTrainStep(opts);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
    process.exit(1);
  }
})();

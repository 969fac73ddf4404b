/**
 * Where a training run's lock lives: `RUNS/ID/run.lock`, beside `checkpoint/` and `model/`. The lock itself (a
 * POSIX record lock the kernel drops when its holder dies) is ../core/file-lock.ts.
 */
import { join } from 'node:path';

export const RUN_LOCK_FILE = 'run.lock';

/** The lock file of run `runId` under the home's runs folder. */
export function runLockPath(runsDir: string, runId: number): string {
  return join(runsDir, String(runId), RUN_LOCK_FILE);
}

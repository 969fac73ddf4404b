/**
 * The table of every operation. The CLI, Electron IPC and `serve` dispatch through this one map;
 * each feature declares its operations in ./ops/<feature>.ts and is listed here once.
 */
import type { Operation } from './contract';
import { systemOps } from './ops/system';
import { datasetsOps } from './ops/datasets';
import { policyOps } from './ops/policy';
import { mixupOps } from './ops/mixup';
import { configOps } from './ops/config';
import { runsOps } from './ops/runs';
import { exportOps } from './ops/export';

const all: Operation[] = [
  ...systemOps,
  ...datasetsOps,
  ...policyOps,
  ...mixupOps,
  ...configOps,
  ...runsOps,
  ...exportOps,
];

export const operations: ReadonlyMap<string, Operation> = (() => {
  const map = new Map<string, Operation>();
  for (const op of all) {
    if (map.has(op.name)) throw new Error(`operation ${op.name} declared twice`);
    map.set(op.name, op);
  }
  return map;
})();

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
import { dbOps } from './ops/db';
import { backbonesOps } from './ops/backbones';
import { curationOps } from './ops/curation';
import { sweepsOps } from './ops/sweeps';

const all = [
  ...systemOps,
  ...datasetsOps,
  ...policyOps,
  ...mixupOps,
  ...configOps,
  ...runsOps,
  ...exportOps,
  ...backbonesOps,
  ...curationOps,
  ...sweepsOps,
  ...dbOps,
];

/** Every declared operation, each with its literal name, schema and result type (api/types.ts derives the contract from it). */
export type DeclaredOperation = (typeof all)[number];

/** The operations that run over a damaged database (they open the file themselves, and only read it). */
const RUN_OVER_DAMAGE = new Set(['db:check']);

/**
 * Every operation's database guard, in the one place every front end passes: refuse to start over a database
 * found damaged (nothing more is written to it), take the daily backup when it is due, and turn SQLite
 * corruption met midway into the one 'corrupt' error naming the file, `db check` and the newest backup.
 */
function guarded(op: Operation): Operation {
  if (RUN_OVER_DAMAGE.has(op.name)) return op;
  return {
    ...op,
    async run(ctx, input) {
      const services = ctx.services;
      if (services.damage) throw services.damage;
      try {
        await services.maintain?.();
        return await op.run(ctx, input);
      } catch (err) {
        throw services.classify ? services.classify(err) : err;
      }
    },
  };
}

export const operations: ReadonlyMap<string, Operation> = (() => {
  const map = new Map<string, Operation>();
  for (const op of all) {
    if (map.has(op.name)) throw new Error(`operation ${op.name} declared twice`);
    map.set(op.name, guarded(op));
  }
  return map;
})();

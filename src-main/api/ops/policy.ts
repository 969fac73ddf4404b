/**
 * The class-pair policy operations (CLI.md "Pair policy"): which class pairs may be blended, and how often.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { defineOp } from '../contract';
import { datasetRef, pathText } from '../refs';
import { parseJsonText, POLICY_MAX_BYTES, readUserText, writeUserFile } from '../../core/user-files';
import { listClasses, resolveDataset } from '../../datasets/repository';
import {
  exportPolicy,
  listPolicy,
  parsePolicyFile,
  policyMatrixView,
  replacePolicy,
  setPairWeight,
} from '../../datasets/policy-repository';

const className = z.string().min(1, 'must be a class name');

export const policyOps = [
  defineOp({
    name: 'policy:list',
    summary: 'The class pairs of a dataset that are not at the default (forbidden = weight 0)',
    input: z.strictObject({ dataset: datasetRef }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return listPolicy(ctx.services.db, ds.id);
    },
  }),
  defineOp({
    name: 'policy:forbid',
    summary: 'Forbids blending two classes (an unordered pair; the same class twice forbids same-class mixing)',
    input: z.strictObject({ dataset: datasetRef, a: className, b: className, note: z.string().optional() }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return setPairWeight(ctx.services.db, ds.id, input.a, input.b, 0, input.note, ds.name);
    },
  }),
  defineOp({
    name: 'policy:allow',
    summary: 'Puts a class pair back to the default (mixed freely, weight 1)',
    input: z.strictObject({ dataset: datasetRef, a: className, b: className }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return setPairWeight(ctx.services.db, ds.id, input.a, input.b, 1, undefined, ds.name);
    },
  }),
  defineOp({
    name: 'policy:weight',
    summary: 'Sets how often an allowed pair may be mixed (0 < W ≤ 1; the sampler re-draws otherwise)',
    input: z.strictObject({
      dataset: datasetRef,
      a: className,
      b: className,
      weight: z.number().finite().gt(0, 'must be > 0 (use policy forbid for 0)').max(1, 'must be ≤ 1'),
      note: z.string().optional(),
    }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return setPairWeight(ctx.services.db, ds.id, input.a, input.b, input.weight, input.note, ds.name);
    },
  }),
  defineOp({
    name: 'policy:matrix',
    summary: 'Classes and stored pairs of a dataset, for the heatmap',
    input: z.strictObject({ dataset: datasetRef }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      return policyMatrixView(ctx.services.db, ds.id);
    },
  }),
  defineOp({
    name: 'policy:export',
    summary: 'Writes the policy of a dataset to a JSON file (class names; importable into another copy)',
    input: z.strictObject({
      dataset: datasetRef,
      file: z.string().min(1).optional(),
      /** Replace an existing regular file (never a link, device or folder). */
      force: z.boolean().optional(),
    }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      const doc = exportPolicy(ctx.services.db, ds.id, ds.name);
      if (!input.file) return { file: null, pairs: doc.pairs.length, policy: doc };
      const file = writeUserFile(input.file, `${JSON.stringify(doc, null, 2)}\n`, { what: 'policy', force: input.force, field: 'file' });
      return { file, pairs: doc.pairs.length, policy: doc };
    },
  }),
  defineOp({
    name: 'policy:import',
    summary: 'Replaces the policy of a dataset with a JSON file (or document); all or nothing',
    input: z
      .strictObject({ dataset: datasetRef, file: pathText().optional(), policy: z.unknown().optional() })
      .refine((i) => (i.file === undefined) !== (i.policy === undefined), { message: 'give exactly one of file or policy', path: ['file'] }),
    run(ctx, input) {
      const ds = resolveDataset(ctx.services.db, input.dataset);
      let raw: unknown = input.policy;
      const source = input.file ? resolve(input.file) : 'policy';
      // A regular file below the cap, read bounded; a syntax error says where, never what.
      if (input.file) raw = parseJsonText(readUserText(source, { what: 'policy', field: 'file', maxBytes: POLICY_MAX_BYTES }), source);
      const classes = listClasses(ctx.services.db, ds.id).map((c) => c.name);
      const pairs = parsePolicyFile(raw, classes, source);
      const res = replacePolicy(ctx.services.db, ds.id, pairs);
      return { dataset: ds.name, file: input.file ? source : null, pairs: res.pairs };
    },
  }),
];

import type { Command } from 'commander';
import type { PolicyPairInfo } from '../../datasets/policy-repository';
import { usageError, type CliRuntime } from '../runtime';

function describeWeight(w: number): string {
  return w === 0 ? 'forbidden' : `weight ${w}`;
}

function pairLine(p: { a: string; b: string; weight: number; note: string | null }): string {
  return `${p.a} × ${p.b}: ${describeWeight(p.weight)}${p.note ? `  (${p.note})` : ''}`;
}

export function register(program: Command, cli: CliRuntime): void {
  const policy = program.command('policy').description('which class pairs may be blended (unordered pairs of class names)');

  policy
    .command('list')
    .argument('<dataset>', 'dataset name or id')
    .description('list every pair that is not at the default (forbidden = weight 0)')
    .action(async (dataset: string) => {
      const pairs = await cli.invoke('policy:list', { dataset });
      cli.output(pairs, (ps) => (ps.length ? ps.map(pairLine).join('\n') : 'every pair is allowed (no pair policy set)'));
    });

  policy
    .command('forbid')
    .argument('<dataset>', 'dataset name or id')
    .argument('<a>', 'class name')
    .argument('<b>', 'class name (the same as A forbids same-class mixing)')
    .option('--note <text>', 'why (shown in the policy list and the app)')
    .description('never blend these two classes')
    .action(async (dataset: string, a: string, b: string, opts: { note?: string }) => {
      const p = await cli.invoke('policy:forbid', { dataset, a, b, ...(opts.note !== undefined ? { note: opts.note } : {}) });
      cli.output(p, (r) => `forbidden: ${r.a} × ${r.b}`);
    });

  policy
    .command('allow')
    .argument('<dataset>', 'dataset name or id')
    .argument('<a>', 'class name')
    .argument('<b>', 'class name')
    .description('put a pair back to the default (mixed freely)')
    .action(async (dataset: string, a: string, b: string) => {
      const p = await cli.invoke('policy:allow', { dataset, a, b });
      cli.output(p, (r) => `allowed: ${r.a} × ${r.b}`);
    });

  policy
    .command('weight')
    .argument('<dataset>', 'dataset name or id')
    .argument('<a>', 'class name')
    .argument('<b>', 'class name')
    .argument('<w>', 'how often the pair may be mixed, 0 < W ≤ 1')
    .option('--note <text>', 'why')
    .description('mix an allowed pair at most W as often (the sampler re-draws otherwise)')
    .action(async (dataset: string, a: string, b: string, w: string, opts: { note?: string }) => {
      const weight = Number(w);
      if (w.trim() === '' || !Number.isFinite(weight)) throw usageError(`W: '${w}' is not a number (0 < W ≤ 1)`);
      const p = await cli.invoke('policy:weight', {
        dataset,
        a,
        b,
        weight,
        ...(opts.note !== undefined ? { note: opts.note } : {}),
      });
      cli.output(p, (r) => pairLine(r));
    });

  policy
    .command('export')
    .argument('<dataset>', 'dataset name or id')
    .argument('<file>', 'JSON file to write (a new file; see --force)')
    .option('--force', 'replace FILE if it exists (only a regular file; never a link, device or folder)')
    .description('write the policy to a JSON file (class names)')
    .action(async (dataset: string, file: string, opts: { force?: boolean }) => {
      const r = await cli.invoke('policy:export', { dataset, file, ...(opts.force ? { force: true } : {}) });
      cli.output({ file: r.file, pairs: r.pairs }, (x) => `wrote ${x.pairs} pair(s) to ${x.file}`);
    });

  policy
    .command('import')
    .argument('<dataset>', 'dataset name or id')
    .argument('<file>', 'JSON file from `policy export` (or an array of {a, b, weight, note})')
    .description('replace the policy with a file (checked first; nothing changes on a bad file)')
    .action(async (dataset: string, file: string) => {
      const r = await cli.invoke('policy:import', { dataset, file });
      cli.output(r, (x) => `imported ${x.pairs} pair(s) into ${x.dataset}`);
    });
}

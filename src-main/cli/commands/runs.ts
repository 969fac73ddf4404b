import type { Command } from 'commander';
import type { OpResult } from '../../api/types';
import type { CliRuntime } from '../runtime';
import { humanTrain } from './train';

type RunListItem = OpResult<'runs:list'>[number];

type RunShow = OpResult<'runs:show'>;

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? '-' : x.toFixed(d));

function humanShow(r: RunShow): string {
  const lines = [humanTrain(r), ''];
  if (r.preprocessing) {
    const p = r.preprocessing;
    lines.push(`preprocessing: ${p.inputSize.join('×')}×${p.channels}, mean [${p.mean.map((m) => m.toFixed(4)).join(', ')}], std [${p.std.map((s) => s.toFixed(4)).join(', ')}]`);
  }
  if (Object.keys(r.perClassAccuracy).length) {
    lines.push('', 'per-class validation accuracy:');
    for (const [c, a] of Object.entries(r.perClassAccuracy)) lines.push(`  ${c.padEnd(16)} ${f(a, 3)}`);
  }
  if (r.confusion.length) {
    lines.push('', 'confusion (rows: true class, columns: predicted):');
    const w = Math.max(4, ...r.confusion.flat().map((v) => String(v).length + 1));
    r.confusion.forEach((row, i) => lines.push(`  ${(r.classes[i] ?? String(i)).padEnd(16)}${row.map((v) => String(v).padStart(w)).join('')}`));
  }
  if (r.audit.length) {
    lines.push('', 'MixUp audit: epoch  active  mixed  unmixed by policy  pairs');
    for (const a of r.audit) if (a) lines.push(`  ${String(a.epoch).padStart(5)}  ${(a.active ? 'yes' : 'no').padEnd(6)}  ${String(a.mixedSamples).padStart(5)}  ${String(a.unmixedSamples.policy).padStart(17)}  ${a.pairs.length}`);
  }
  return lines.join('\n');
}

export function register(program: Command, cli: CliRuntime): void {
  const runs = program.command('runs').description('training runs: list, show, cancel');
  runs
    .command('list')
    .description('every run, oldest first')
    .action(async () => {
      const r = await cli.invoke('runs:list', {});
      cli.output(r, (items) =>
        items.length === 0
          ? 'no runs yet (start one with `mixup-studio train DATASET --config FILE`)'
          : ['  id  dataset           status       arch         val acc   ECE     created', ...items.map(
              (x) =>
                `${String(x.id).padStart(4)}  ${x.dataset.padEnd(16)}  ${x.status.padEnd(11)}  ${(x.arch ?? '-').padEnd(11)}  ${f(x.metrics.valAccuracy).padStart(7)}  ${f(x.metrics.ece).padStart(6)}  ${x.createdAt}${x.sweep ? `  sweep ${x.sweep.id} trial ${x.sweep.trial + 1}` : ''}${x.name ? `  "${x.name}"` : ''}${x.tags.length ? `  [${x.tags.join(', ')}]` : ''}`,
            )].join('\n'),
      );
    });
  runs
    .command('show')
    .argument('<run>', 'run id')
    .description('the run: metrics per epoch, per-class accuracy, confusion matrix, MixUp audit')
    .action(async (run: string) => {
      const r = await cli.invoke('runs:show', { run });
      cli.output(r, humanShow);
    });
  runs
    .command('label')
    .argument('<run>', 'run id')
    .option('--name <text>', 'name the run ("" clears it)')
    .option('--tag <tag>', 'add a tag (repeat for more)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--untag <tag>', 'remove a tag (repeat for more)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--note <text>', 'a note on the run ("" clears it)')
    .description('name, tag or annotate a run (not part of its config)')
    .action(async (run: string, o: { name?: string; tag: string[]; untag: string[]; note?: string }) => {
      const r = await cli.invoke('runs:label', {
        run,
        ...(o.name !== undefined ? { name: o.name === '' ? null : o.name } : {}),
        ...(o.note !== undefined ? { note: o.note === '' ? null : o.note } : {}),
        addTags: o.tag,
        removeTags: o.untag,
      });
      cli.output(r, (x) => `run ${x.run.id}: ${x.name ?? '(no name)'}${x.tags.length ? ` [${x.tags.join(', ')}]` : ''}${x.note ? `\n  ${x.note}` : ''}`);
    });
  runs
    .command('cancel')
    .argument('<run>', 'run id')
    .description('stop a running run at its next batch (it can be resumed with train --resume)')
    .action(async (run: string) => {
      const r = await cli.invoke('runs:cancel', { run });
      cli.output(r, (x) => `run ${x.run.id}: ${x.status}`);
    });
}

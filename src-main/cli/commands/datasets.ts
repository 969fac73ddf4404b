import { type Command, InvalidArgumentError } from 'commander';
import type { DatasetListItem, IndexResult } from '../../api/ops/datasets';
import type { DatasetSummary } from '../../datasets/summary';
import type { VerifyResult } from '../../datasets/verify';
import { usageError, type CliRuntime } from '../runtime';

/**
 * The `dataset` command group, created once whoever registers first (the export feature adds
 * `dataset export` to the same group).
 */
export function datasetGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'dataset') ??
    program.command('dataset').description('show and curate one dataset (show, exclude, include, export)')
  );
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`must be a number in [0, 1), got '${value}'`);
  return n;
}

function list<T>(items: T[], fmt: (t: T) => string, max = 20): string[] {
  const out = items.slice(0, max).map((t) => `  ${fmt(t)}`);
  if (items.length > max) out.push(`  … and ${items.length - max} more (--json lists all)`);
  return out;
}

function summaryText(r: DatasetSummary): string[] {
  const lines = [
    `dataset ${r.dataset.name} (id ${r.dataset.id})  ${r.dataset.root}`,
    `${r.images} usable images in ${r.classes.length} classes  (train ${r.splits.train}, val ${r.splits.val}, test ${r.splits.test})`,
  ];
  const w = Math.max(5, ...r.classes.map((c) => c.name.length));
  for (const c of r.classes) {
    lines.push(`  ${c.name.padEnd(w)}  ${String(c.count).padStart(7)}   train ${c.splits.train}  val ${c.splits.val}  test ${c.splits.test}`);
  }
  if (r.corrupt.length) lines.push(`corrupt (${r.corrupt.length}):`, ...list(r.corrupt, (c) => `${c.path}: ${c.reason}`));
  if (r.skipped.length) lines.push(`skipped (${r.skipped.length}):`, ...list(r.skipped, (c) => `${c.path}: ${c.reason}`));
  if (r.duplicates.length) {
    const conflicts = r.duplicates.filter((d) => d.conflict).length;
    lines.push(
      `duplicate groups (${r.duplicates.length}, ${conflicts} label conflicts):`,
      ...list(r.duplicates, (d) => `${d.conflict ? 'CONFLICT ' : ''}${d.paths.join(', ')}  [${d.classes.join(', ')}]`),
    );
  }
  if (r.excluded.length) lines.push(`excluded (${r.excluded.length}):`, ...list(r.excluded, (c) => `${c.path}: ${c.reason}`));
  if (r.unverified > 0) lines.push(`${r.unverified} images not verified yet (run \`mixup-studio verify ${r.dataset.name}\`)`);
  if (r.scanState !== 'complete') lines.push('the last scan did not finish: run `index` again to complete it');
  return lines;
}

export function register(program: Command, cli: CliRuntime): void {
  program
    .command('index')
    .description('create or update a dataset from a folder of class folders, split folders or a CSV manifest')
    .argument('<dir>', 'the dataset folder')
    .option('--name <name>', 'dataset name (default: the folder name)')
    .option('--manifest <csv>', 'CSV with path,label[,split] rows (paths relative to DIR)')
    .option('--val-fraction <f>', 'share of each class put in val when there are no split folders', fraction)
    .option('--seed <seed>', 'seed of the stratified split')
    .option('--verify', 'also decode every image and make thumbnails (the verify pass)')
    .action(async (dir: string, o: { name?: string; manifest?: string; valFraction?: number; seed?: string; verify?: boolean }) => {
      const seed = o.seed === undefined ? undefined : /^-?\d+$/.test(o.seed) ? Number(o.seed) : o.seed;
      const r = await cli.invoke(
        'datasets:index',
        { root: dir, name: o.name, manifest: o.manifest, valFraction: o.valFraction, seed, verify: o.verify },
        { progress: ['index.progress', 'verify.progress'] },
      );
      cli.output(r, (x) =>
        [
          ...summaryText(x),
          `added ${x.added}, removed ${x.removed}, changed ${x.changed}, unchanged ${x.unchanged} in ${x.seconds}s` +
            (x.verify ? `; verified ${x.verify.verified} (${x.verify.corrupt.length} failed to decode)` : ''),
        ].join('\n'),
      );
    });

  program
    .command('verify')
    .description('decode every not-yet-verified image once and make its thumbnail; failures become corrupt')
    .argument('<dataset>', 'dataset name or id')
    .action(async (dataset: string) => {
      const r = await cli.invoke('datasets:verify', { dataset }, { progress: 'verify.progress' });
      cli.output(r, (x) =>
        [
          `verified ${x.verified} images in ${x.seconds}s`,
          ...(x.corrupt.length ? [`failed to decode (${x.corrupt.length}):`, ...list(x.corrupt, (c) => `${c.path}: ${c.reason}`)] : []),
          ...(x.unreadable.length
            ? [`could not be read, not marked corrupt, tried again next time (${x.unreadable.length}):`, ...list(x.unreadable, (c) => `${c.path}: ${c.reason}`)]
            : []),
        ].join('\n'),
      );
    });

  program
    .command('datasets')
    .description('list the datasets of this home')
    .action(async () => {
      const r = await cli.invoke('datasets:list', {});
      cli.output(r, (rows) =>
        rows.length === 0
          ? 'no datasets yet: run `mixup-studio index DIR`'
          : rows
              .map(
                (d) =>
                  `${String(d.id).padStart(3)}  ${d.name}  ${d.images} images, ${d.classes} classes, ${d.corrupt} corrupt${d.excluded ? `, ${d.excluded} excluded` : ''}${d.verified ? ', verified' : `, ${d.unverified} unverified`}  ${d.root}`,
              )
              .join('\n'),
      );
    });

  const group = datasetGroup(program);
  group
    .command('show')
    .description('classes, splits, corrupt, skipped, duplicates and excluded images of a dataset')
    .argument('<dataset>', 'dataset name or id')
    .action(async (dataset: string) => {
      const r = await cli.invoke('datasets:show', { dataset });
      cli.output(r, (x) => summaryText(x).join('\n'));
    });
  group
    .command('exclude')
    .description('leave images out of training (they stay indexed), with a reason')
    .argument('<dataset>', 'dataset name or id')
    .argument('<paths...>', 'image paths, relative to the dataset folder')
    .requiredOption('--reason <text>', 'why (shown in dataset show)')
    .action(async (dataset: string, paths: string[], o: { reason: string }) => {
      const r = await cli.invoke('datasets:exclude', { dataset, paths, reason: o.reason });
      cli.output(r, (x) => `excluded ${x.changed} image(s)`);
    });
  group
    .command('include')
    .description('include excluded images again')
    .argument('<dataset>', 'dataset name or id')
    .argument('<paths...>', 'image paths, relative to the dataset folder')
    .action(async (dataset: string, paths: string[]) => {
      const r = await cli.invoke('datasets:include', { dataset, paths });
      cli.output(r, (x) => `included ${x.changed} image(s)`);
    });
  group
    .command('relabel')
    .description('correct the class of images (kept in the index: the files never move; `curation undo` takes it back)')
    .argument('<dataset>', 'dataset name or id')
    .argument('<paths...>', 'image paths, relative to the dataset folder')
    .option('--class <name>', 'the correct class (a class of the dataset)')
    .option('--restore', 'give the images the class their folder (or manifest) says again')
    .action(async (dataset: string, paths: string[], o: { class?: string; restore?: boolean }) => {
      if ((o.class === undefined) === !o.restore) throw usageError('relabel: give --class NAME or --restore (one of them)');
      const r = await cli.invoke('datasets:relabel', { dataset, paths, class: o.restore ? null : o.class! });
      cli.output(r, (x) => (x.entry ? x.entry.summary : 'nothing changed'));
    });
}

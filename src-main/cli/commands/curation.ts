import { Option, type Command } from 'commander';
import type { OpInputOf, OpResult } from '../../api/types';
import { numberFlag as num, type CliRuntime } from '../runtime';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The human summary of a pass: counts, then the first findings of each kind. */
function summary(r: OpResult<'curation:run'> & { stale?: boolean }, shown = 10): string {
  const lines = [
    `${r.dataset.name} × ${r.backbone.name}: ${r.images} images (${r.embeddings.computed} embedded now, ${r.embeddings.cached} cached), ${r.params.folds} folds, ${r.seconds.toFixed(1)} s${r.stale ? '  [STALE: files changed since; run curate again]' : ''}`,
    `label issues: ${r.labelIssues.length}`,
    ...r.labelIssues.slice(0, shown).map((f) => `  ${f.score.toFixed(3)}  ${f.path}  filed as ${f.given}, looks like ${f.suggested}`),
    `near-duplicate groups: ${r.nearDuplicates.length} (${r.nearDuplicates.filter((g) => g.conflict).length} across classes, ${r.nearDuplicates.filter((g) => g.leak).length} across splits)`,
    ...r.nearDuplicates.slice(0, shown).map((g) => `  ${g.conflict ? 'CONFLICT ' : g.leak ? 'LEAK     ' : '         '}${g.paths.join('  ')}  (${g.classes.join(', ')})`),
    `outliers (top ${r.outliers.length}):`,
    ...r.outliers.slice(0, Math.min(shown, 5)).map((o) => `  ${o.score.toFixed(3)}  ${o.path}  (${o.class})`),
    'most confusable pairs:',
    ...r.pairs.slice(0, shown).map((p) => `  ${p.a} × ${p.b}: confusion ${pct(p.confusion)}, overlap ${pct(p.overlap)}${p.intrusion !== null ? `, intrusion ${pct(p.intrusion)}` : ''}${p.suggestion ? `  → ${p.suggestion}${p.suggestion === 'down-weight' ? ` to ${p.weight}` : ''}: ${p.reason}` : ''}`),
  ];
  if (r.skipped.length) lines.push(`not embedded (left out): ${r.skipped.length}`);
  return lines.join('\n');
}

interface CurateFlags {
  backbone: string;
  folds?: string;
  seed?: string;
  alpha?: string;
  duplicateThreshold?: string;
  top?: string;
  map?: 'umap' | 'pca' | 'none';
  intrusion?: 'embeddings' | 'images';
}

export function register(program: Command, cli: CliRuntime): void {
  program
    .command('curate')
    .argument('<dataset>', 'dataset name or id')
    .requiredOption('--backbone <name>', 'the backbone whose embeddings curation works on (computed where missing, then cached)')
    .option('--folds <k>', 'folds of the out-of-sample label model (default 5)')
    .option('--seed <s>', 'seed of the folds, the blends and the map (default 0)')
    .option('--alpha <a>', "MixUp's α for the intrusion blends (default: the run config's, 0.2)")
    .option('--duplicate-threshold <t>', 'how alike two images must look to be near-duplicates, 0–1 (default 0.96; higher is stricter)')
    .option('--top <n>', 'outliers to report (default: the most unusual 2 %, 10 to 100)')
    .addOption(new Option('--map <method>', 'the 2-D map of the embeddings (default umap)').choices(['umap', 'pca', 'none']))
    .addOption(new Option('--intrusion <what>', 'what the intrusion blends mix: the embeddings (a frozen-backbone run) or the images themselves, then embedded (a run that mixes the input)').choices(['embeddings', 'images']))
    .description('find wrong labels, near-duplicates, outliers and confusable class pairs from embeddings; stored with the dataset')
    .action(async (dataset: string, o: CurateFlags) => {
      const input: OpInputOf<'curation:run'> = { dataset, backbone: o.backbone };
      if (o.folds !== undefined) input.folds = num('--folds', o.folds, { int: true, min: 2, max: 20 });
      if (o.seed !== undefined) input.seed = /^-?\d+$/.test(o.seed) ? Number(o.seed) : o.seed;
      if (o.alpha !== undefined) input.alpha = num('--alpha', o.alpha, { min: 0, max: 100 });
      if (o.duplicateThreshold !== undefined) input.duplicateThreshold = num('--duplicate-threshold', o.duplicateThreshold, { min: 0, max: 1 });
      if (o.top !== undefined) input.top = num('--top', o.top, { int: true, min: 1 });
      if (o.map) input.map = o.map;
      if (o.intrusion) input.intrusion = o.intrusion;
      const r = await cli.invoke('curation:run', input, { progress: 'curate.progress' });
      cli.output(r, (x) => summary(x));
    });

  const group = program.command('curation').description('the stored curation pass and what was done about it: show, keep, accept, dismiss, undo, log');
  group
    .command('show')
    .argument('<dataset>', 'dataset name or id')
    .option('--backbone <name>', "that backbone's pass (default: the newest)")
    .description('the stored pass, each finding with where it stands now')
    .action(async (dataset: string, o: { backbone?: string }) => {
      const r = await cli.invoke('curation:show', { dataset, ...(o.backbone ? { backbone: o.backbone } : {}) });
      cli.output(r, (x) => summary(x));
    });
  group
    .command('keep')
    .argument('<dataset>', 'dataset name or id')
    .argument('<path>', 'the image (a near-duplicate group: its first path)')
    .addOption(new Option('--as <kind>', 'which finding it is (default label)').choices(['label', 'outlier', 'duplicate']).default('label'))
    .description('mark a finding as fine as it is (it leaves the open list; undoable)')
    .action(async (dataset: string, path: string, o: { as: 'label' | 'outlier' | 'duplicate' }) => {
      const r = await cli.invoke('curation:mark', { dataset, kind: o.as, key: path, verdict: 'kept' });
      cli.output(r, (x) => (x.entry ? x.entry.summary : 'already kept'));
    });
  group
    .command('accept')
    .argument('<dataset>', 'dataset name or id')
    .argument('<a>', 'class')
    .argument('<b>', 'class')
    .option('--weight <w>', "the weight to set instead of the suggestion's (0 forbids)")
    .option('--backbone <name>', "that backbone's pass (default: the newest)")
    .description("write a pair suggestion into the pair policy, with its reason as the note")
    .action(async (dataset: string, a: string, b: string, o: { weight?: string; backbone?: string }) => {
      const r = await cli.invoke('curation:accept-pair', {
        dataset,
        a,
        b,
        ...(o.weight !== undefined ? { weight: num('--weight', o.weight, { min: 0, max: 1 }) } : {}),
        ...(o.backbone ? { backbone: o.backbone } : {}),
      });
      cli.output(r, (x) => `${x.entry.summary}: ${x.note}`);
    });
  group
    .command('dismiss')
    .argument('<dataset>', 'dataset name or id')
    .argument('<a>', 'class')
    .argument('<b>', 'class')
    .description('dismiss a pair suggestion (the policy is left as it is)')
    .action(async (dataset: string, a: string, b: string) => {
      const r = await cli.invoke('curation:mark', { dataset, kind: 'pair', a, b, verdict: 'dismissed' });
      cli.output(r, (x) => (x.entry ? x.entry.summary : 'already dismissed'));
    });
  group
    .command('undo')
    .argument('<dataset>', 'dataset name or id')
    .description('undo the newest curation action (relabel, exclude, include, a verdict, an accepted suggestion)')
    .action(async (dataset: string) => {
      const r = await cli.invoke('curation:undo', { dataset });
      cli.output(r, (x) => (x.undone ? `undid: ${x.undone.summary}` : 'nothing to undo'));
    });
  group
    .command('log')
    .argument('<dataset>', 'dataset name or id')
    .description('the curation actions, newest first')
    .action(async (dataset: string) => {
      const r = await cli.invoke('curation:log', { dataset });
      cli.output(r, (list) => (list.length ? list.map((e) => `${e.createdAt}  ${e.undoneAt ? '(undone) ' : ''}${e.summary}`).join('\n') : 'no curation actions yet'));
    });
}

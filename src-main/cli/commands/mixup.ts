import type { Command } from 'commander';
import { readRunConfigFile } from '../../config/read-config';
import type { PreviewResult } from '../../datasets/mixup-preview';
import type { CliRuntime } from '../runtime';

function fmt(x: number, digits = 3): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

function humanPreview(r: PreviewResult): string {
  const lines = [
    `dataset ${r.dataset.name}: ${r.trainImages} training images, ${r.classes.length} classes, ${r.batchesPerEpoch} batches of ≤ ${r.batchSize}`,
    `seed ${r.seed}, CutMix boxes at ${r.inputSize ? `${r.inputSize[0]}×${r.inputSize[1]}` : '(none)'}, policy from the ${r.policySource} (${r.policy.pairs.length} pair(s) set)`,
    '',
    'epoch  active  alpha   prob   mixed  unmixed(policy/prob/schedule/alone)  mean λ  top pairs',
  ];
  for (const e of r.epochs) {
    const u = e.unmixedSamples;
    const mean = e.lambdas.length ? e.lambdas.reduce((s, v) => s + v, 0) / e.lambdas.length : NaN;
    const top = [...e.pairs]
      .sort((x, y) => y.count - x.count)
      .slice(0, 3)
      .map((p) => `${p.a}×${p.b} ${p.count}`)
      .join(', ');
    lines.push(
      `${String(e.epoch).padStart(5)}  ${(e.active ? 'yes' : 'no').padEnd(6)}  ${fmt(e.alpha).padStart(5)}  ${fmt(e.prob).padStart(5)}  ${String(e.mixedSamples).padStart(6)}  ${`${u.policy}/${u.prob}/${u.schedule}/${u.alone}`.padEnd(35)}  ${Number.isNaN(mean) ? '   -  ' : mean.toFixed(3).padStart(6)}  ${top}`,
    );
  }
  return lines.join('\n');
}

export function register(program: Command, cli: CliRuntime): void {
  const mixup = program.command('mixup').description('MixUp: preview what the sampler mixes');
  mixup
    .command('preview')
    .argument('<dataset>', 'dataset name or id')
    .requiredOption('--config <file>', 'run config JSON (see `mixup-studio config schema`)')
    .description('run the sampler over the training split for every configured epoch, without a model')
    .action(async (dataset: string, opts: { config: string }) => {
      const { raw } = readRunConfigFile(opts.config);
      const r = await cli.invoke('mixup:preview', { dataset, config: raw }, { progress: 'preview.progress' });
      cli.output(r, humanPreview);
    });
}

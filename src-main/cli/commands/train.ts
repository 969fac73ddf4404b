import { Option, type Command } from 'commander';
import { readRunConfigFile } from '../../config/read-config';
import type { TrainDoc } from '../../api/ops/runs';
import { AppError } from '../../core/errors';
import { cancelOnSigterm, type CliRuntime } from '../runtime';
import { ARCHS, type Arch } from '../../config/model-spec';
import { BACKEND_ORDER, type BackendName } from '../../training/engine/index';

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? '-' : x.toFixed(d));

export function humanTrain(r: TrainDoc): string {
  const lines = [`run ${r.run.id} on '${r.dataset}': ${r.status} (backend ${r.backend ?? '?'}${r.device ? `, ${r.device}` : ''})`, ''];
  lines.push('epoch  train loss  val loss  val acc    ECE     NLL      lr        mixup');
  for (const e of r.epochs) {
    const mix = e.mixup.active ? `α ${e.mixup.alpha} p ${e.mixup.prob}` : 'off';
    lines.push(
      `${String(e.epoch).padStart(5)}  ${f(e.trainLoss).padStart(10)}  ${f(e.valLoss).padStart(8)}  ${f(e.valAccuracy).padStart(7)}  ${f(e.ece).padStart(6)}  ${f(e.nll).padStart(6)}  ${e.lr.toExponential(2).padStart(8)}  ${mix}`,
    );
  }
  lines.push('', `final: val accuracy ${f(r.metrics.valAccuracy)}, val loss ${f(r.metrics.valLoss)}, ECE ${f(r.metrics.ece)}`);
  if (r.test) lines.push(`test (${r.test.count} images): accuracy ${f(r.test.accuracy)}, loss ${f(r.test.loss)}, ECE ${f(r.test.ece)}`);
  if (r.modelDir) lines.push(`model: ${r.modelDir}`);
  if (r.error) lines.push(`error: ${r.error}`);
  return lines.join('\n');
}

export function register(program: Command, cli: CliRuntime): void {
  program
    .command('train')
    .argument('[dataset]', 'dataset name or id (optional with --resume)')
    .option('--config <file>', 'run config JSON (see `mixup-studio config schema`)')
    .addOption(new Option('--backend <name>', 'tfjs backend (default: the best that loads)').choices(BACKEND_ORDER))
    .option('--threads <n>', 'wasm threads (default: every core)', (v) => Number(v))
    .option('--resume <run>', 'continue an interrupted run from its last checkpoint, with its stored config')
    .description('train a classifier with MixUp in a child process; prints the per-epoch metrics')
    .action(async (dataset: string | undefined, opts: { config?: string; backend?: BackendName; threads?: number; resume?: string }) => {
      let config: unknown;
      let configSource: string | undefined;
      if (opts.config !== undefined) {
        const read = readRunConfigFile(opts.config);
        config = read.raw;
        configSource = read.path;
      } else if (opts.resume === undefined) {
        throw new AppError('input', '--config FILE is required (or --resume RUN)');
      }
      // A second SIGTERM kills this process; the worker, seeing its IPC channel close, stops itself.
      const term = cancelOnSigterm(cli, 'SIGTERM: cancelling the run (it stops at the next batch and can be resumed)');
      const r = await cli
        .invoke(
          'runs:train',
          { dataset, config, configSource, backend: opts.backend, threads: opts.threads, resume: opts.resume },
          {
            progress: 'train.progress',
            signal: term.signal,
            onEvent(topic, data) {
              const d = data as { message?: string; runId?: number; status?: string; backend?: string; device?: string };
              if (topic === 'train.warning' && d.message) cli.warn(d.message);
              if (topic === 'train.engine') cli.warn(`run ${d.runId}: training on ${d.backend} (${d.device})`);
            },
          },
        )
        .finally(term.done);
      cli.output(r, humanTrain);
      if (r.status === 'cancelled') throw new AppError('cancelled', `run ${r.run.id} cancelled; continue it with --resume ${r.run.id}`);
      if (r.status === 'interrupted') throw new AppError('internal', `run ${r.run.id} was interrupted (its training process died); continue it with --resume ${r.run.id}`);
    });

  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks');
  bench
    .command('train')
    .addOption(new Option('--arch <arch>', 'architecture').choices(ARCHS).default('cnn-small'))
    .option('--batch <n>', 'batch size', (v) => Number(v), 128)
    .option('--steps <n>', 'timed steps', (v) => Number(v), 20)
    .addOption(new Option('--backend <name>', 'tfjs backend (default: the best that loads)').choices(BACKEND_ORDER))
    .option('--threads <n>', 'wasm threads', (v) => Number(v))
    .option('--profile', 'also print the per-kernel profile of one step')
    .description('images/s of a training step on synthetic 28×28×1 data, 10 classes, Adam, soft targets')
    .action(async (opts: { arch: Arch; batch: number; steps: number; backend?: BackendName; threads?: number; profile?: boolean }) => {
      const r = await cli.invoke('bench:train', {
        arch: opts.arch,
        batch: opts.batch,
        steps: opts.steps,
        backend: opts.backend,
        threads: opts.threads,
        profile: Boolean(opts.profile),
      });
      cli.output(r, (x) => `${x.imagesPerSecond.toFixed(1)} images/s on ${x.backend}${x.device ? ` (${x.device})` : ''}${x.msPerStep ? `, ${x.msPerStep.toFixed(1)} ms/step` : ''}`);
    });
}

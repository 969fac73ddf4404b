import { Option, type Command } from 'commander';
import { readRunConfigFile } from '../../config/read-config';
import type { OpInputOf, OpResult } from '../../api/types';
import { AppError } from '../../core/errors';
import { BACKEND_ORDER, type BackendName } from '../../training/engine/index';
import { showValue } from '../../sweeps/space';
import { cancelOnSigterm, numberFlag, usageError, type CliRuntime } from '../runtime';
import { humanTrain } from './train';

type SweepDoc = OpResult<'sweeps:show'>;

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? '-' : x.toFixed(d));

const whole = (flag: string, v: string, min: number, max: number) => numberFlag(flag, v, { int: true, min, max });

/** The sweep as a table: one line per trial, the swept keys as columns, then the best trial. */
export function humanSweep(d: SweepDoc): string {
  const keys = d.space.map((s) => s.key);
  const head = ['trial', 'run', ...keys, 'status', 'epochs', d.metric, 'seconds'];
  const rows = d.trials.map((t) => [
    String(t.index + 1),
    t.run ? String(t.run.id) : '-',
    ...keys.map((k) => (k in t.params ? showValue(t.params[k] as never) : '-')),
    t.status === 'stopped' ? `stopped@${t.stoppedAt}` : t.status,
    String(t.epochs),
    f(t.metrics[d.metric]),
    t.seconds === null ? '-' : t.seconds.toFixed(1),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  const out = [
    `sweep ${d.sweep.id} on '${d.dataset}': ${d.status} (${d.method}${d.earlyStop === 'hyperband' ? `, hyperband η=${d.hyperband?.eta} from epoch ${d.hyperband?.minEpochs}` : ''}, ${d.trials.length}/${d.trialsPlanned} trials, metric ${d.metric})`,
    '',
    line(head),
    ...rows.map(line),
    '',
  ];
  if (d.best) out.push(`best: trial ${d.best.index + 1}, run ${d.best.run.id} (${Object.entries(d.best.params).map(([k, v]) => `${k}=${showValue(v as never)}`).join(', ')}): ${d.metric} ${f(d.best.metrics[d.metric])}, ${d.best.epochs} epochs`);
  else out.push(d.status === 'running' ? 'best: none yet (no trial has completed)' : 'best: none (no trial completed)');
  const stopped = d.trials.filter((t) => t.status === 'stopped');
  if (stopped.length) {
    const saved = stopped.reduce((a, t) => a + (t.epochsPlanned ?? t.epochs) - t.epochs, 0);
    const run = d.trials.reduce((a, t) => a + t.epochs, 0);
    out.push(`early stopping ended ${stopped.length} trial${stopped.length === 1 ? '' : 's'}: ${run} epochs trained, ${saved} saved`);
  }
  if (d.error) out.push(`error: ${d.error}`);
  return out.join('\n');
}

interface SweepFlags {
  config?: string;
  param: string[];
  metric?: 'valLoss' | 'valAccuracy' | 'ece' | 'eceCalibrated';
  method?: 'grid' | 'random' | 'bayes';
  trials?: string;
  earlyStop?: 'none' | 'hyperband';
  eta?: string;
  minEpochs?: string;
  seed?: string;
  parallel?: string;
  backend?: BackendName;
  threads?: string;
}

const onSigterm = (cli: CliRuntime) => cancelOnSigterm(cli, 'SIGTERM: cancelling the sweep (its running trial stops at the next batch; `sweep resume` continues it)');

function sweepOutcome(cli: CliRuntime, r: SweepDoc): void {
  cli.output(r, humanSweep);
  if (r.status === 'cancelled') throw new AppError('cancelled', `sweep ${r.sweep.id} cancelled; continue it with \`mixup-studio sweep resume ${r.sweep.id}\``);
  if (r.status === 'failed') throw new AppError('internal', `sweep ${r.sweep.id} failed: ${r.error ?? 'see the trials above'}`);
}

const warnOn = (cli: CliRuntime) => (topic: string, data: unknown) => {
  const d = data as { message?: string; index?: number; status?: string; runId?: number; params?: Record<string, unknown> };
  if (topic === 'train.warning' && d.message) cli.warn(d.message);
  if (topic === 'sweep.trial' && d.status && d.status !== 'running') {
    cli.warn(`trial ${(d.index ?? 0) + 1} (run ${d.runId ?? '-'}, ${Object.entries(d.params ?? {}).map(([k, v]) => `${k}=${showValue(v as never)}`).join(', ')}): ${d.status}`);
  }
};

export function register(program: Command, cli: CliRuntime): void {
  const sweep = program
    .command('sweep')
    .argument('[dataset]', 'dataset name or id')
    .option('--config <file>', 'the base run config JSON (every trial is it, with the swept keys set)')
    .option('--param <KEY=V1,V2,...>', 'a dotted run-config key and its values (repeat for more keys); LO..HI, log:LO..HI, int:LO..HI are ranges for random and bayes', (v: string, all: string[]) => [...all, v], [] as string[])
    .addOption(new Option('--metric <name>', 'what the sweep ranks by (default valLoss; eceCalibrated: ECE after temperature scaling, on test when there is one)').choices(['valLoss', 'valAccuracy', 'ece', 'eceCalibrated']))
    .addOption(new Option('--method <name>', 'how points are chosen (default grid)').choices(['grid', 'random', 'bayes']))
    .option('--trials <n>', 'trials to run (default: every grid point; 10 for random and bayes)')
    .addOption(new Option('--early-stop <how>', 'stop the worst trials at rungs (default none)').choices(['none', 'hyperband']))
    .option('--eta <x>', 'hyperband: keep the best 1/eta at each rung (default 3)')
    .option('--min-epochs <n>', 'hyperband: the first rung, in epochs (default 1); rungs at n·eta^k')
    .option('--seed <s>', 'seed of the random and bayes draws (default 0; each trial keeps its config seed)')
    .option('--parallel <n>', 'trials at once, each with its share of the cores (default 1)')
    .addOption(new Option('--backend <name>', 'tfjs backend of every trial (default: the best that loads)').choices(BACKEND_ORDER))
    .option('--threads <n>', 'wasm threads per trial (default: every core, or their share with --parallel)')
    .description('tune a run config: train one run per point of the swept keys (grid, random, bayes) and rank them; subcommands show, cancel, resume')
    .action(async (dataset: string | undefined, o: SweepFlags) => {
      if (dataset === undefined) throw usageError('DATASET: name the dataset to sweep on (or use `sweep show|cancel|resume ID`)');
      if (o.config === undefined) throw usageError('--config FILE is required: the base run config every trial starts from');
      if (o.param.length === 0) throw usageError('--param KEY=V1,V2,...: name at least one key to sweep (e.g. --param mixup.alpha=0.1,0.2,0.4)');
      const read = readRunConfigFile(o.config);
      const input: OpInputOf<'sweeps:run'> = { dataset, config: read.raw, configSource: read.path, params: o.param };
      if (o.metric) input.metric = o.metric;
      if (o.method) input.method = o.method;
      if (o.trials !== undefined) input.trials = whole('--trials', o.trials, 1, 10_000);
      if (o.earlyStop) input.earlyStop = o.earlyStop;
      if (o.eta !== undefined) input.eta = numberFlag('--eta', o.eta, { min: 1.5, max: 10 });
      if (o.minEpochs !== undefined) input.minEpochs = whole('--min-epochs', o.minEpochs, 1, 10_000);
      if (o.seed !== undefined) input.seed = whole('--seed', o.seed, 0, 2 ** 32 - 1);
      if (o.parallel !== undefined) input.parallel = whole('--parallel', o.parallel, 1, 64);
      if (o.backend) input.backend = o.backend;
      if (o.threads !== undefined) input.threads = whole('--threads', o.threads, 1, 64);
      const term = onSigterm(cli);
      const r = await cli.invoke('sweeps:run', input, { progress: 'sweep.progress', signal: term.signal, onEvent: warnOn(cli) }).finally(term.done);
      sweepOutcome(cli, r);
    });
  sweep
    .command('show')
    .argument('<id>', 'sweep id')
    .description('the sweep: every trial with its run, params, status, epochs and metric, and the best')
    .action(async (id: string) => cli.output(await cli.invoke('sweeps:show', { sweep: id }), humanSweep));
  sweep
    .command('cancel')
    .argument('<id>', 'sweep id')
    .description('stop a running sweep: its trial stops at the next batch; `sweep resume` continues')
    .action(async (id: string) => {
      const r = await cli.invoke('sweeps:cancel', { sweep: id });
      cli.output(r, (x) => `sweep ${x.sweep.id}: ${x.status}`);
    });
  sweep
    .command('resume')
    .argument('<id>', 'sweep id')
    .description('continue an interrupted or cancelled sweep (finished trials are kept, not re-run)')
    .action(async (id: string) => {
      const term = onSigterm(cli);
      const r = await cli.invoke('sweeps:resume', { sweep: id }, { progress: 'sweep.progress', signal: term.signal, onEvent: warnOn(cli) }).finally(term.done);
      sweepOutcome(cli, r);
    });
  sweep
    .command('train-best')
    .argument('<id>', 'sweep id')
    .option('--train-only', 'train on the training split alone (default: train + val, nothing held out)')
    .description("train the best trial's config again on train + val, for the model to export")
    .action(async (id: string, o: { trainOnly?: boolean }) => {
      const term = onSigterm(cli);
      const r = await cli
        .invoke('sweeps:train-best', { sweep: id, allData: !o.trainOnly }, { progress: 'train.progress', signal: term.signal, onEvent: warnOn(cli) })
        .finally(term.done);
      cli.output(r, humanTrain);
      if (r.status !== 'completed') throw new AppError(r.status === 'cancelled' ? 'cancelled' : 'internal', `run ${r.run.id} ${r.status}; continue it with \`mixup-studio train --resume ${r.run.id}\``);
    });
  program
    .command('sweeps')
    .description('sweeps: list')
    .command('list')
    .description('every sweep, oldest first')
    .action(async () => {
      const r = await cli.invoke('sweeps:list', {});
      cli.output(r, (items) =>
        items.length === 0
          ? 'no sweeps yet (start one with `mixup-studio sweep DATASET --config FILE --param mixup.alpha=0.1,0.2,0.4`)'
          : ['  id  dataset           status       method  trials  keys', ...items.map((x) => `${String(x.id).padStart(4)}  ${x.dataset.padEnd(16)}  ${x.status.padEnd(11)}  ${x.method.padEnd(6)}  ${`${x.done}/${x.trials}`.padStart(6)}  ${x.keys.join(', ')}   ${x.createdAt}`)].join('\n'),
      );
    });
}

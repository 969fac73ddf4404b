import { Option, type Command } from 'commander';
import { BACKEND_ORDER, type BackendName } from '../../training/engine/index';
import type { CompareDoc } from '../../export/compare';
import type { DatasetExportResult } from '../../export/dataset-export';
import type { ExportResult } from '../../export/export-run';
import type { Prediction } from '../../export/predict';
import { usageError, type CliRuntime } from '../runtime';

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? '-' : x.toFixed(d));

function parseFormats(v: string): ('tfjs' | 'onnx')[] {
  const list = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const x of list) if (x !== 'tfjs' && x !== 'onnx') throw usageError(`--format: unknown format '${x}' (tfjs, onnx)`);
  if (list.length === 0) throw usageError('--format: name at least one of tfjs, onnx');
  return list as ('tfjs' | 'onnx')[];
}

function parseRunId(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw usageError(`RUN: expected a run id (a number), got '${v}'`);
  return Number(v);
}

export function humanCompare(r: CompareDoc): string {
  const ids = r.runs.map((x) => `run ${x.id}`);
  const w = Math.max(16, ...ids.map((s) => s.length + 2));
  const col = (s: string) => s.padStart(w);
  const lines: string[] = [];
  lines.push(`${''.padEnd(28)}${ids.map(col).join('')}`);
  lines.push(`${'dataset'.padEnd(28)}${r.runs.map((x) => col(x.dataset)).join('')}`);
  lines.push(`${'status'.padEnd(28)}${r.runs.map((x) => col(x.status)).join('')}`);
  lines.push('', 'config differences:');
  if (r.configDiff.length === 0) lines.push('  (none: the configs are identical)');
  for (const d of r.configDiff) lines.push(`  ${d.key.padEnd(26)}${d.values.map((v) => col(JSON.stringify(v) ?? 'null')).join('')}`);
  lines.push('', 'metrics:');
  const row = (name: string, get: (m: CompareDoc['metrics'][number]) => string) => lines.push(`  ${name.padEnd(26)}${r.metrics.map((m) => col(get(m))).join('')}`);
  row('final val accuracy', (m) => f(m.final.valAccuracy));
  row('final val loss', (m) => f(m.final.valLoss));
  row('final ECE', (m) => f(m.final.ece));
  row('best val accuracy (epoch)', (m) => `${f(m.best.valAccuracy)} (${m.best.valAccuracyEpoch ?? '-'})`);
  row('best val loss (epoch)', (m) => `${f(m.best.valLoss)} (${m.best.valLossEpoch ?? '-'})`);
  lines.push('', 'val accuracy by epoch:');
  for (const c of r.curves) lines.push(`  ${String(c.epoch).padEnd(26)}${c.valAccuracy.map((v) => col(f(v))).join('')}`);
  if (r.perClass.length) {
    lines.push('', 'per-class accuracy (Δ vs the first run):');
    for (const p of r.perClass) {
      lines.push(`  ${p.class.padEnd(26)}${p.accuracy.map((a, i) => col(i === 0 || p.deltaVsFirst[i] === null ? f(a) : `${f(a)} ${p.deltaVsFirst[i]! >= 0 ? '+' : ''}${f(p.deltaVsFirst[i], 3)}`)).join('')}`);
    }
  }
  return lines.join('\n');
}

export function register(program: Command, cli: CliRuntime): void {
  program
    .command('export')
    .argument('<run>', 'run id')
    .requiredOption('--out <dir>', 'folder to write (created, or an existing empty folder)')
    .option('--format <list>', 'comma-separated formats: tfjs, onnx', 'tfjs,onnx')
    .description('export a trained run: tfjs/ model, model.onnx, labels.json, config.json, report.html')
    .action(async (run: string, opts: { out: string; format: string }) => {
      const r = await cli.invoke('runs:export', { run: parseRunId(run), out: opts.out, formats: parseFormats(opts.format) }, { progress: 'export.progress' });
      for (const w of r.warnings) cli.warn(w);
      cli.output(r, (x) => [`exported run ${x.run} to ${x.out}`, ...x.files.map((file) => `  ${file.path}  (${file.bytes} bytes)`)].join('\n'));
    });

  program
    .command('compare')
    .argument('<runs...>', 'two or more run ids')
    .description('config diff, final and best metrics, curves by epoch and per-class accuracy of runs side by side')
    .action(async (runs: string[]) => {
      const r = await cli.invoke('runs:compare', { runs: runs.map(parseRunId) });
      cli.output(r, humanCompare);
    });

  program
    .command('predict')
    .argument('<modelDir>', 'a folder written by `export`')
    .argument('<images...>', 'image files')
    .option('--top <k>', 'how many classes to show per image', '3')
    .addOption(new Option('--backend <name>', 'tfjs backend (default: the best that loads)').choices(BACKEND_ORDER))
    .description('classify images with an exported model and its recorded preprocessing')
    .action(async (modelDir: string, images: string[], opts: { top: string; backend?: BackendName }) => {
      const top = Number(opts.top);
      if (!Number.isInteger(top) || top < 1) throw usageError(`--top: expected a whole number ≥ 1, got '${opts.top}'`);
      const r = await cli.invoke('models:predict', { modelDir, images, top, ...(opts.backend ? { backend: opts.backend } : {}) });
      cli.output(r, (ps) =>
        ps.map((p) => `${p.image}\n${p.top.map((t) => `  ${t.label.padEnd(24)} ${(t.probability * 100).toFixed(2).padStart(6)}%`).join('\n')}`).join('\n'),
      );
    });

  // `dataset` is the datasets engineer's group (show/exclude/include); add `export` to it, whoever registers first.
  const dataset =
    program.commands.find((c) => c.name() === 'dataset') ??
    program.command('dataset').description('show and curate one dataset (show, exclude, include, export)');
  dataset
    .command('export')
    .argument('<dataset>', 'dataset name or id')
    .requiredOption('--out <dir>', 'folder to write (created, or an existing empty folder)')
    .description('write manifest.csv (path,label,split,excluded_reason) and policy.json for other training stacks')
    .action(async (ds: string, opts: { out: string }) => {
      const r = await cli.invoke('datasets:export', { dataset: ds, out: opts.out });
      cli.output(r, (x) => `wrote ${x.manifest} (${x.images} images: ${x.usable} usable, ${x.excluded} excluded, ${x.corrupt} corrupt) and ${x.policy}`);
    });
}

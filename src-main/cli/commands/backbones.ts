import { Option, type Command } from 'commander';
import type { OpInputOf } from '../../api/types';
import { usageError, type CliRuntime } from '../runtime';

function numbers(flag: string, v: string, count?: number): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((s) => s === '') || out.some((n) => !Number.isFinite(n))) throw usageError(`${flag}: expected numbers separated by commas, got '${v}'`);
  if (count !== undefined && out.length !== count) throw usageError(`${flag}: expected ${count} numbers, got ${out.length} ('${v}')`);
  return out;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

interface ImportFlags {
  name: string;
  inputSize?: string;
  channels?: string;
  layout?: 'NCHW' | 'NHWC';
  scale?: string;
  mean?: string;
  std?: string;
  resize?: 'fill' | 'center-crop';
  output?: string;
}

export function register(program: Command, cli: CliRuntime): void {
  const group = program.command('backbone').description('pretrained feature extractors: import, list, show, remove');

  group
    .command('import')
    .argument('<path>', 'an .onnx file (or a folder holding model.onnx)')
    .requiredOption('--name <name>', 'the name runs and `embeddings` use')
    .option('--input-size <h,w>', 'input height,width (read from the model when it fixes them)')
    .addOption(new Option('--channels <n>', 'input channels (read from the model when it fixes them)').choices(['1', '3']))
    .addOption(new Option('--layout <layout>', 'input layout (read from the model when it can be told)').choices(['NCHW', 'NHWC']))
    .option('--scale <s>', 'pixel scale before mean/std (default 1/255)')
    .option('--mean <m>', 'per-channel mean, 1 or 3 values (default ImageNet 0.485,0.456,0.406)')
    .option('--std <s>', 'per-channel std, 1 or 3 values (default ImageNet 0.229,0.224,0.225)')
    .addOption(new Option('--resize <mode>', 'how images reach the input size (default center-crop)').choices(['fill', 'center-crop']))
    .option('--output <name>', "the output, or a tensor inside the graph (the copy is cut there), that gives the features (default: the model's first output)")
    .description('copy a pretrained model into the home and register it as a backbone')
    .action(async (path: string, o: ImportFlags) => {
      const input: OpInputOf<'backbones:import'> = { path, name: o.name };
      if (o.inputSize) input.inputSize = numbers('--input-size', o.inputSize, 2) as [number, number];
      if (o.channels) input.channels = Number(o.channels) as 1 | 3;
      if (o.layout) input.layout = o.layout;
      if (o.scale) input.scale = numbers('--scale', o.scale, 1)[0];
      if (o.mean) input.mean = numbers('--mean', o.mean);
      if (o.std) input.std = numbers('--std', o.std);
      if (o.resize) input.resize = o.resize;
      if (o.output) input.output = o.output;
      const r = await cli.invoke('backbones:import', input);
      cli.output(r, ({ backbone: b }) => {
        const p = b.preprocessing;
        return [
          `imported backbone ${b.name} (id ${b.id}, ${b.format}): ${b.featureSize}-d features`,
          `  input ${p.layout} ${p.channels}×${p.inputSize.join('×')}, ${p.resize}, x = (pixel·${+p.scale.toPrecision(6)} − [${p.mean.join(', ')}]) / [${p.std.join(', ')}]`,
          `  sha256 ${b.sha256}`,
        ].join('\n');
      });
    });

  group
    .command('list')
    .description('the imported backbones')
    .action(async () => {
      const r = await cli.invoke('backbones:list', {});
      cli.output(r, (list) =>
        list.length === 0
          ? 'no backbones yet: `mixup-studio backbone import MODEL.onnx --name NAME`'
          : list.map((b) => `${String(b.id).padStart(4)}  ${b.name.padEnd(24)} ${b.format.padEnd(12)} ${String(b.featureSize).padStart(6)}-d  ${b.createdAt}`).join('\n'),
      );
    });

  group
    .command('show')
    .argument('<name>', 'backbone name or id')
    .description('one backbone: preprocessing, file, size on disk, cached embeddings')
    .action(async (name: string) => {
      const r = await cli.invoke('backbones:show', { backbone: name });
      cli.output(r, (b) => {
        const p = b.preprocessing;
        return [
          `backbone ${b.name} (id ${b.id}, ${b.format}), imported ${b.createdAt} from ${b.source}`,
          `  features  ${b.featureSize}-d from output '${b.outputName}'`,
          `  input     '${b.inputName}' ${p.layout} ${p.channels}×${p.inputSize.join('×')}, ${p.resize}, scale ${+p.scale.toPrecision(6)}, mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`,
          `  file      ${b.file} (${mib(b.bytes)}), sha256 ${b.sha256}`,
          `  cache     ${b.embeddings.vectors} embeddings (${mib(b.embeddings.bytes)})`,
        ].join('\n');
      });
    });

  group
    .command('remove')
    .argument('<name>', 'backbone name or id')
    .option('--force', 'remove it even while runs name it')
    .description('remove a backbone, its copy in the home and its cached embeddings')
    .action(async (name: string, o: { force?: boolean }) => {
      const r = await cli.invoke('backbones:remove', { backbone: name, force: !!o.force });
      cli.output(r, (x) => `removed backbone ${x.removed} and ${x.embeddings} cached embeddings`);
    });

  program
    .command('embeddings')
    .argument('<dataset>', 'dataset name or id')
    .requiredOption('--backbone <name>', 'the backbone that embeds')
    .option('--batch <n>', 'images per onnxruntime run (default 32)')
    .description("compute every usable image's embedding (cached: a second call computes nothing new)")
    .action(async (dataset: string, o: { backbone: string; batch?: string }) => {
      const input: OpInputOf<'embeddings:compute'> = { dataset, backbone: o.backbone };
      if (o.batch !== undefined) {
        if (!/^\d+$/.test(o.batch) || Number(o.batch) < 1) throw usageError(`--batch: expected a positive whole number, got '${o.batch}'`);
        input.batch = Number(o.batch);
      }
      const r = await cli.invoke('embeddings:compute', input, { progress: 'embed.progress' });
      for (const f of r.failed.slice(0, 20)) cli.warn(`not embedded: ${f.path}: ${f.reason}`);
      if (r.failed.length > 20) cli.warn(`… and ${r.failed.length - 20} more not embedded (--json lists all)`);
      cli.output(r, (x) => `${x.dataset} × ${x.backbone}: ${x.images} images, ${x.computed} computed, ${x.cached} cached, ${x.dim}-d, ${x.seconds.toFixed(1)} s${x.provider ? ` (${x.provider})` : ''}`);
    });
}

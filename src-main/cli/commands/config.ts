import type { Command } from 'commander';
import { readRunConfigFile } from '../../config/read-config';
import type { CliRuntime } from '../runtime';

export function register(program: Command, cli: CliRuntime): void {
  const config = program.command('config').description('the run config: its JSON Schema, and a file with defaults filled in');
  config
    .command('schema')
    .description('print the JSON Schema of the run config')
    .action(async () => {
      const schema = await cli.invoke('config:schema', {});
      // A schema is JSON whatever the output mode.
      cli.output(schema, (s) => JSON.stringify(s, null, 2));
    });
  config
    .command('resolve')
    .argument('<file>', 'run config JSON')
    .option('--dataset <dataset>', 'fill model.inputSize / model.channels from this dataset')
    .description('check a run config and print it with every default filled in')
    .action(async (file: string, opts: { dataset?: string }) => {
      const { raw } = readRunConfigFile(file);
      const resolved = await cli.invoke('config:resolve', { config: raw, ...(opts.dataset ? { dataset: opts.dataset } : {}) });
      cli.output(resolved, (r) => JSON.stringify(r, null, 2));
    });
}

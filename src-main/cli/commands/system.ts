import type { Command } from 'commander';
import type { CliRuntime } from '../runtime';

interface SystemInfo {
  version: string;
  home: string;
  database: string;
  node: string;
  platform: string;
}

export function register(program: Command, cli: CliRuntime): void {
  program
    .command('info')
    .description('show the version and the home folder in use')
    .action(async () => {
      const info = await cli.invoke('system:info', {});
      cli.output(info, (i) =>
        [`MixUp Studio ${i.version}`, `home      ${i.home}`, `database  ${i.database}`, `node      ${i.node} (${i.platform})`].join('\n'),
      );
    });
}

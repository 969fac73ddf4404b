/**
 * The `mixup-studio` command. Heavy modules (tfjs, sharp) are imported by the operations that need them,
 * never here, so `--version` and small commands start fast.
 */
import { Command, CommanderError } from 'commander';
import { APP_VERSION } from '../core/version';
import { registrations } from './commands';
import { createRuntime, reportCliError } from './runtime';

export async function runCli(argv: string[]): Promise<number> {
  const program = new Command('mixup-studio');
  program
    .description('MixUp Studio: index image datasets, train classifiers with MixUp, compare and export runs')
    .version(APP_VERSION, '-V, --version')
    .option('--home <dir>', 'folder with the database, caches and checkpoints (env MIXUP_STUDIO_HOME)')
    .option('--json', 'print exactly one JSON document on stdout; progress and logs go to stderr')
    // CLI.md: an error is one stderr line naming what is at fault. Commander's usage errors (an unknown command,
    // a missing argument, a value outside its choices) keep its wording, on one line, with where help is.
    .configureOutput({
      outputError: (text, write) => write(`mixup-studio: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (see --help)\n`),
    })
    .exitOverride();
  const cli = createRuntime(program);
  for (const register of registrations) register(program, cli);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help/version exit 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportCliError(err);
  } finally {
    cli.dispose();
  }
}

/** Runs the command line of this process and exits with its status. */
export function main(argv = process.argv.slice(2)): void {
  // Exit once stdout has drained, even if a library left a handle open (worker pools, timers).
  const exit = (code: number) => process.stdout.write('', () => process.exit(code));
  runCli(argv).then(exit, (err) => exit(reportCliError(err)));
}

if (require.main === module) main();

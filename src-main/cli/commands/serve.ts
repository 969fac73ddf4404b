import type { Command } from 'commander';
import type { CliRuntime } from '../runtime';
import { usageError } from '../runtime';

interface ServeFlags {
  port: string;
  host?: string;
  allowHost: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command, cli: CliRuntime): void {
  program
    .command('serve')
    .description('serve the app to a browser on this machine (127.0.0.1, behind a random token); Ctrl+C stops')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '7470')
    .option('--host <addr>', 'address to listen on (default 127.0.0.1; anything else exposes the app to the network)')
    .option(
      '--allow-host <name>',
      "one more name the Host header may give, e.g. a reverse proxy's (besides the loopback names and, with a non-loopback --host, this machine's names and addresses); repeatable",
      collect,
      [],
    )
    .action(async (flags: ServeFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port: '${flags.port}' is not a port number (0-65535)`);
      const host = flags.host ?? '127.0.0.1';
      const [{ startServer }, { isLoopback, parseAllowedHost }, { rendererDir }] = await Promise.all([
        import('../../serve/server'),
        import('../../serve/hosts'),
        import('../../api/page-files'),
      ]);
      // Checked before anything starts: a bad name is a usage error (exit 2) naming the value.
      const allowHosts = flags.allowHost.map(parseAllowedHost);
      if (!isLoopback(host)) {
        cli.warn(
          `--host ${host} is not a loopback address: anyone who can reach it and learns the token can use this app and read the images it indexed ` +
            '(requests must still name this machine in their Host header: its name, its addresses, or an --allow-host name)',
        );
      }
      const { services, operations, resolveMedia, trainingTransport } = await cli.core();
      const server = await startServer({
        services,
        operations,
        rendererDir: rendererDir(),
        host,
        allowHosts,
        port,
        resolveMedia,
        trainingTransport,
        log: (line) => cli.warn(line),
      });
      if (cli.json) process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
      else {
        process.stdout.write(`MixUp Studio is serving ${services.home}\nopen ${server.url}\n`);
        process.stderr.write(
          `from another machine: ssh -L ${server.port}:127.0.0.1:${server.port} THIS_HOST, then open the address above there. Ctrl+C stops.\n`,
        );
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          cli.warn(`${signal}: stopping (running calls are cancelled, the database is closed cleanly)`);
          void server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

import type { Command } from 'commander';
import { AppError } from '../../core/errors';
import type { DbCheckReport } from '../../db/check';
import type { CliRuntime } from '../runtime';

export function register(program: Command, cli: CliRuntime): void {
  const db = program.command('db').description("the home's database");
  db.command('check')
    .description("SQLite's full integrity check of the database; non-zero exit when damaged, with the newest backup and how to restore it")
    .action(async () => {
      const report = await cli.invoke('db:check', {});
      cli.output(report, (r) => {
        const lines = [r.ok ? `database ${r.file}: ok` : `database ${r.file} is damaged:`];
        for (const p of r.problems) lines.push(`  ${p}`);
        lines.push(r.newestBackup ? `newest backup: ${r.newestBackup.path} (taken ${r.newestBackup.takenAt})` : 'newest backup: none kept yet');
        if (!r.ok) lines.push(`to restore: ${r.restore}`);
        return lines.join('\n');
      });
      // The report is on stdout; the exit status and the stderr line say it failed.
      if (!report.ok) {
        const way = report.newestBackup ? `the report says how to restore the newest backup, ${report.newestBackup.path}` : 'no backup of it is kept yet';
        throw new AppError('corrupt', `database ${report.file} is damaged (${report.problems.length} problem(s) found); ${way}`);
      }
    });
}

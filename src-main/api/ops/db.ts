import { z } from 'zod';
import { defineOp } from '../contract';
import { checkDatabaseFile, type DbCheckReport } from '../../db/check';

export const dbOps = [
  defineOp({
    name: 'db:check',
    summary: "SQLite's full integrity check of the home's database, the newest backup and how to restore it",
    input: z.object({}).strict(),
    // Runs on its own connection to the file: it must work over a database every other operation refuses.
    run: (ctx): DbCheckReport => checkDatabaseFile(ctx.services.paths.db),
  }),
];

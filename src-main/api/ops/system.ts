import { z } from 'zod';
import { defineOp } from '../contract';
import { APP_VERSION } from '../../core/version';

export const systemOps = [
  defineOp({
    name: 'system:info',
    summary: 'The app version and the home folder in use',
    input: z.object({}).strict(),
    run: (ctx) => ({
      version: APP_VERSION,
      home: ctx.services.home,
      database: ctx.services.paths.db,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
    }),
  }),
];

import type { Command } from 'commander';
import type { CliRuntime } from '../runtime';
import { register as system } from './system';
import { register as datasets } from './datasets';
import { register as policy } from './policy';
import { register as mixup } from './mixup';
import { register as config } from './config';
import { register as serve } from './serve';
import { register as train } from './train';
import { register as runs } from './runs';
import { register as exportCommands } from './export';
import { register as db } from './db';
import { register as backbones } from './backbones';
import { register as curation } from './curation';
import { register as sweeps } from './sweeps';

/** Every feature's command registration, in the order `--help` lists them. */
export const registrations: Array<(program: Command, cli: CliRuntime) => void> = [
  system,
  datasets,
  policy,
  mixup,
  config,
  serve,
  train,
  runs,
  exportCommands,
  backbones,
  curation,
  sweeps,
  db,
];

import type { Migration } from '../migrate';
import { migration as m0001 } from './0001-settings';
import { migration as m0002 } from './0002-datasets';

/** The ordered registry of migrations; `user_version` is the version of the last one applied. */
export const migrations: Migration[] = [
  m0001,
  m0002,
];

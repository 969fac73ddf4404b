import type { Migration } from '../migrate';
import { migration as m0001 } from './0001-settings';
import { migration as m0002 } from './0002-datasets';
import { migration as m0003 } from './0003-pair-policy';
import { migration as m0004 } from './0004-runs';
import { migration as m0005 } from './0005-gallery-index';
import { migration as m0006 } from './0006-scan-snapshots';
import { migration as m0007 } from './0007-backbones';
import { migration as m0008 } from './0008-curation';
import { migration as m0009 } from './0009-image-thumbs';
import { migration as m0010 } from './0010-sweeps';
import { migration as m0011 } from './0011-run-labels';

/** The ordered registry of migrations; `user_version` is the version of the last one applied. */
export const migrations: Migration[] = [
  m0001,
  m0002,
  m0003,
  m0004,
  m0005,
  m0006,
  m0007,
  m0008,
  m0009,
  m0010,
  m0011,
];

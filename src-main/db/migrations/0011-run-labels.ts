import type { Migration } from '../migrate';

/**
 * What a user writes on a run (issue 15, compare like W&B): a name, tags (a JSON array of strings) and a note.
 * None is part of the run's config or fingerprint; `runs label` changes them at any time, even while it trains.
 */
export const migration: Migration = {
  version: 11,
  name: 'run-labels',
  up(db) {
    db.exec(`
      ALTER TABLE runs ADD COLUMN name TEXT;
      ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE runs ADD COLUMN note TEXT;
    `);
  },
};

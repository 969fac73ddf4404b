import type { Migration } from '../migrate';

/**
 * The expert's class-pair policy per dataset: one row per unordered pair of class names that is not at the
 * default (weight 1 = freely mixed). weight 0 = forbidden; 0 < weight < 1 = an allowed pair used at most
 * that often. Pairs are stored by class name (a ≤ b), so a rescan that rebuilds class rows keeps them;
 * a class that disappears from the dataset leaves its rows, reported as `stale` by the repository.
 */
export const migration: Migration = {
  version: 3,
  name: 'pair-policy',
  up(db) {
    db.exec(`
      CREATE TABLE pair_policy (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        class_a TEXT NOT NULL,
        class_b TEXT NOT NULL,
        weight REAL NOT NULL CHECK (weight >= 0 AND weight <= 1),
        note TEXT,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (dataset_id, class_a, class_b),
        CHECK (class_a <= class_b)
      ) STRICT;
    `);
  },
};

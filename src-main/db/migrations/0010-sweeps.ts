import type { Migration } from '../migrate';

/**
 * Sweeps (issue 16): a sweep row (its spec and base config as JSON, its status, the process running it) and one
 * row per trial, in trial order, each an ordinary run once it starts (`run_id`).
 *
 * - `status` is what the sweep process last wrote; a `running` sweep whose lock (`RUNS/sweep-ID.lock`) is free
 *   reads as `interrupted`, and `sweep resume` goes on from there.
 * - `cancel_requested` is how `sweep cancel` (any process) asks the sweep's process to stop its trial cleanly.
 * - A trial's `status`: pending, running, completed, stopped (early stopping ended it at a rung), failed,
 *   cancelled; `stopped_at` the epochs it had then.
 */
export const migration: Migration = {
  version: 10,
  name: 'sweeps',
  up(db) {
    db.exec(`
      CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        dataset_name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'running'
          CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
        spec TEXT NOT NULL,
        base_config TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        finished_at TEXT,
        pid INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        error TEXT
      ) STRICT;

      CREATE TABLE sweep_trials (
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        params TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        status TEXT NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'running', 'completed', 'stopped', 'failed', 'cancelled')),
        stopped_at INTEGER,
        seconds REAL,
        train_seconds REAL,
        error TEXT,
        PRIMARY KEY (sweep_id, idx)
      ) STRICT;
      CREATE INDEX sweep_trials_by_run ON sweep_trials (run_id);
    `);
  },
};

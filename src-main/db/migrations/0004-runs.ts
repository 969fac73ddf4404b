import type { Migration } from '../migrate';

/**
 * Training runs, their per-epoch metrics and the MixUp audit of each epoch.
 *
 * - `runs.config` is the resolved run config (JSON, with the pair-policy snapshot); `preprocessing`,
 *   `classes`, `metrics`, `per_class_accuracy`, `confusion`, `test` are JSON too.
 * - `pid` + `heartbeat_at` belong to the process training the run; a `running` run whose process is gone is
 *   reported (and then stored) as `interrupted`.
 * - `dataset_name` is kept so a run stays readable after its dataset is removed (dataset_id becomes NULL).
 */
export const migration: Migration = {
  version: 4,
  name: 'runs',
  up(db) {
    db.exec(`
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        dataset_name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'running'
          CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        finished_at TEXT,
        backend TEXT,
        device TEXT,
        config TEXT NOT NULL,
        preprocessing TEXT,
        classes TEXT NOT NULL DEFAULT '[]',
        dataset_fingerprint TEXT,
        epochs_planned INTEGER NOT NULL,
        metrics TEXT,
        per_class_accuracy TEXT,
        confusion TEXT,
        test TEXT,
        error TEXT,
        checkpoint_dir TEXT NOT NULL DEFAULT '',
        model_dir TEXT,
        pid INTEGER,
        heartbeat_at TEXT
      ) STRICT;
      CREATE INDEX runs_by_dataset ON runs (dataset_id);

      CREATE TABLE run_epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        train_loss REAL NOT NULL,
        val_loss REAL,
        val_accuracy REAL,
        ece REAL,
        nll REAL,
        lr REAL NOT NULL,
        mixup TEXT NOT NULL,
        seconds REAL NOT NULL,
        per_class_accuracy TEXT,
        confusion TEXT,
        PRIMARY KEY (run_id, epoch)
      ) STRICT;

      CREATE TABLE run_audit (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        audit TEXT NOT NULL,
        PRIMARY KEY (run_id, epoch)
      ) STRICT;
    `);
  },
};

import type { Migration } from '../migrate';

/**
 * Curation from embeddings (issue 14).
 *
 * - `images.given_class_id`: set when the user relabelled the image; it holds the class the folder (or the
 *   manifest) gives, while `class_id` holds the corrected class. So every reader of `class_id` (counts, the
 *   gallery, the training list, the fingerprint, `dataset export`'s manifest) sees the correction with no
 *   change, the covering indexes keep working, and the scan compares the folder class with `given_class_id`
 *   when there is one (the user's files are never moved). The partial index lists the few relabelled rows.
 * - `curations`: the last curation pass of a dataset per backbone: its parameters, its result (the `curate
 *   --json` document), the 2-D map of the embeddings (float32 x,y per image of `map_paths`), and `content`, the
 *   hash of the dataset's files and contents it saw: a rescan that changes them makes the result stale.
 * - `curation_marks`: the user's verdict on a finding ('kept' for a suspect or group that is fine, 'dismissed'
 *   or 'accepted' for a pair suggestion), by relative path or class pair, so it survives rescans.
 * - `curation_log`: every curation action (relabel, exclude, include, a verdict, a policy change from a
 *   suggestion) with what it replaced, so each can be undone, newest first.
 */
export const migration: Migration = {
  version: 8,
  name: 'curation',
  up(db) {
    db.exec(`
      ALTER TABLE images ADD COLUMN given_class_id INTEGER REFERENCES classes(id);
      CREATE INDEX images_relabelled ON images (dataset_id) WHERE given_class_id IS NOT NULL;

      CREATE TABLE curations (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        backbone_id INTEGER NOT NULL REFERENCES backbones(id) ON DELETE CASCADE,
        params TEXT NOT NULL,
        result TEXT NOT NULL,
        map BLOB,
        map_paths TEXT,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (dataset_id, backbone_id)
      ) STRICT;

      CREATE TABLE curation_marks (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('label', 'duplicate', 'outlier', 'pair')),
        key TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('kept', 'dismissed', 'accepted')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (dataset_id, kind, key)
      ) STRICT;

      CREATE TABLE curation_log (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        action TEXT NOT NULL,
        summary TEXT NOT NULL,
        undo TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        undone_at TEXT
      ) STRICT;
      CREATE INDEX curation_log_by_dataset ON curation_log (dataset_id, id);
    `);
  },
};

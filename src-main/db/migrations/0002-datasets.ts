import type { Migration } from '../migrate';

/**
 * Datasets, their classes and images, and what a scan could not use.
 *
 * - `images.status` is `ok` or `corrupt` (with `reason`); an excluded image has a non-null `excluded_reason`
 *   (the user's curation, kept across rescans). Usable = ok and not excluded.
 * - `images.verified` is 1 once the verify pass decoded the image (and wrote its thumbnail `thumb`).
 * - `images.split_source` says where the split came from: the split folder, the manifest, or the seeded
 *   stratified assignment (`auto`; `pending` until the scan that found the file assigns it, so a file keeps its split).
 * - `scan_issues` holds the last scan's skipped files (hidden, not an image, dangling links, bad manifest
 *   rows), replaced by each completed scan.
 */
export const migration: Migration = {
  version: 2,
  name: 'datasets',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        root TEXT NOT NULL,
        manifest TEXT,
        layout TEXT NOT NULL DEFAULT 'folders' CHECK (layout IN ('folders', 'splits', 'manifest')),
        val_fraction REAL NOT NULL DEFAULT 0.2,
        seed TEXT NOT NULL DEFAULT '0',
        scan_state TEXT NOT NULL DEFAULT 'scanning' CHECK (scan_state IN ('scanning', 'complete')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        scanned_at TEXT
      ) STRICT;

      CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        UNIQUE (dataset_id, name)
      ) STRICT;

      CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        class_id INTEGER NOT NULL REFERENCES classes(id),
        split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
        split_source TEXT NOT NULL CHECK (split_source IN ('folder', 'manifest', 'auto', 'pending')),
        bytes INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        hash TEXT,
        format TEXT,
        width INTEGER,
        height INTEGER,
        channels INTEGER,
        status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'corrupt')),
        reason TEXT,
        excluded_reason TEXT,
        verified INTEGER NOT NULL DEFAULT 0,
        thumb TEXT,
        UNIQUE (dataset_id, rel_path)
      ) STRICT;

      -- Duplicate groups (GROUP BY hash within a dataset).
      CREATE INDEX images_by_hash ON images (dataset_id, hash);
      -- Gallery pages of the whole dataset in id order, from the index alone.
      CREATE INDEX images_by_dataset ON images (dataset_id);
      -- Gallery pages by class and split, in id order (the rowid rides along in the index).
      CREATE INDEX images_by_class_split ON images (dataset_id, class_id, split);
      CREATE INDEX images_by_split ON images (dataset_id, split);
      -- The verify pass's work list: what is still to decode.
      CREATE INDEX images_unverified ON images (dataset_id) WHERE verified = 0 AND status = 'ok';
      -- Problem lists (corrupt / excluded) without scanning the whole dataset.
      CREATE INDEX images_corrupt ON images (dataset_id) WHERE status = 'corrupt';
      CREATE INDEX images_excluded ON images (dataset_id) WHERE excluded_reason IS NOT NULL;

      CREATE TABLE scan_issues (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        rel_path TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('skipped', 'dangling', 'link', 'manifest')),
        reason TEXT NOT NULL
      ) STRICT;
      CREATE INDEX scan_issues_by_dataset ON scan_issues (dataset_id);
    `);
  },
};

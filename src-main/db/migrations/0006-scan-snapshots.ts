import type { Migration } from '../migrate';

/**
 * What the last complete scan saw, per dataset, in one row: every image's relative path, id, size, mtime,
 * class and split, packed (see datasets/snapshot.ts). An unchanged rescan reads this one row instead of
 * materialising every image row (~90 ms of 20,000 rows here, against ~15 ms).
 *
 * Triggers keep it honest: any insert or delete of an image, or any change to one of the fields it holds,
 * deletes the dataset's snapshot, whoever writes; the next complete scan writes a fresh one.
 */
export const migration: Migration = {
  version: 6,
  name: 'scan-snapshots',
  up(db) {
    db.exec(`
      CREATE TABLE scan_snapshots (
        dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
        rows INTEGER NOT NULL,
        rels BLOB NOT NULL,
        nums BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER images_snapshot_on_insert AFTER INSERT ON images
      BEGIN
        DELETE FROM scan_snapshots WHERE dataset_id = NEW.dataset_id;
      END;
      CREATE TRIGGER images_snapshot_on_delete AFTER DELETE ON images
      BEGIN
        DELETE FROM scan_snapshots WHERE dataset_id = OLD.dataset_id;
      END;
      CREATE TRIGGER images_snapshot_on_update AFTER UPDATE OF dataset_id, rel_path, bytes, mtime_ms, class_id, split, split_source ON images
      BEGIN
        DELETE FROM scan_snapshots WHERE dataset_id IN (OLD.dataset_id, NEW.dataset_id);
      END;
    `);
  },
};

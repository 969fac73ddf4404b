import type { Migration } from '../migrate';

/**
 * Pretrained backbones and the one embedding store (issue 13).
 *
 * - `backbones`: a model the user imported, copied into the home as `backbones/<sha256>.<ext>` (`file`, relative
 *   to the home), with what it takes (`preprocessing`, JSON: inputSize, channels, scale, mean, std, resize,
 *   layout), its input and output names, and the size of the feature vector it gives.
 * - `embeddings`: one float32 vector (little-endian, `dim` values) per (backbone, image content hash, view), so
 *   an image shared by two datasets is embedded once, and a second run, a sweep or a curation pass computes
 *   nothing. View 0 is the image as it is; views 1.. are augmented copies. Removing the backbone removes them;
 *   vectors whose content no dataset holds any more are pruned (datasets/embeddings pruning).
 */
export const migration: Migration = {
  version: 7,
  name: 'backbones',
  up(db) {
    db.exec(`
      CREATE TABLE backbones (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        format TEXT NOT NULL CHECK (format IN ('onnx', 'tfjs-layers', 'tfjs-graph')),
        file TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        source TEXT NOT NULL,
        input_name TEXT NOT NULL,
        output_name TEXT NOT NULL,
        feature_size INTEGER NOT NULL CHECK (feature_size > 0),
        preprocessing TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      ) STRICT;

      CREATE TABLE embeddings (
        backbone_id INTEGER NOT NULL REFERENCES backbones(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        view INTEGER NOT NULL DEFAULT 0,
        vector BLOB NOT NULL,
        PRIMARY KEY (backbone_id, hash, view)
      ) STRICT;
    `);
  },
};

import type { Migration } from '../migrate';

/**
 * The near-duplicate check's thumbnails (issue 14): each image content's 16×16 grey thumbnail (256 bytes), by
 * content hash and `recipe` (how the image was brought to a backbone's input first: resize mode, size,
 * channels), so every thumbnail a pass compares was made the same way. The embedding pass writes them from the
 * pixels it decodes anyway; a second pass, or another dataset holding the same files, decodes nothing.
 */
export const migration: Migration = {
  version: 9,
  name: 'image-thumbs',
  up(db) {
    db.exec(`
      CREATE TABLE image_thumbs (
        hash TEXT NOT NULL,
        recipe TEXT NOT NULL,
        pixels BLOB NOT NULL,
        PRIMARY KEY (hash, recipe)
      ) STRICT;
    `);
  },
};

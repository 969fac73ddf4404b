/** The stored near-duplicate thumbnails (table image_thumbs), by content hash and recipe. */
import type { Db } from '../db/connection';

export function cachedThumbs(db: Db, recipe: string, hashes: readonly string[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < hashes.length; i += 500) {
    const part = hashes.slice(i, i + 500);
    const rows = db
      .prepare(`SELECT hash, pixels FROM image_thumbs WHERE recipe = ? AND hash IN (${part.map(() => '?').join(',')})`)
      .raw()
      .all(recipe, ...part) as [string, Buffer][];
    for (const [h, px] of rows) out.set(h, new Uint8Array(px));
  }
  return out;
}

/** Stores thumbnails (one transaction). */
export function putThumbs(db: Db, recipe: string, items: readonly { hash: string; pixels: Uint8Array }[]): void {
  const put = db.prepare('INSERT OR REPLACE INTO image_thumbs (hash, recipe, pixels) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const it of items) put.run(it.hash, recipe, Buffer.from(it.pixels.buffer, it.pixels.byteOffset, it.pixels.byteLength));
  })();
}

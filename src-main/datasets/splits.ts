/**
 * The seeded split: which of a dataset's images without a fixed split (no split folder, no split column in
 * the manifest) go to val. Pure: scan-repository.ts reads the counts and writes the picks.
 */

/**
 * Score of a file for the seeded split: a 53-bit string hash (cyrb53) of seed and relative path, in [0, 1).
 * Depends on nothing but the file's own path and the seed, so a file keeps its score whatever else changes.
 */
export function splitScore(seed: string, rel: string): number {
  const str = `${seed}\u0000${rel}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)) / 2 ** 53;
}

/** An image still waiting for its split (`split_source = 'pending'`). */
export interface PendingImage {
  id: number;
  rel: string;
  classId: number;
}

/** Per class: its images with a seeded split, given or pending (`n`), and how many of those are in val already. */
export type SplitCounts = Map<number, { n: number; val: number }>;

/**
 * The ids of the pending images that go to val (the rest go to train). Per class, the target number of val
 * images is round(n * valFraction); files that already have a split keep it, and the pending ones, ranked by
 * their seeded score, fill the val places still open.
 */
export function pickVal(pending: readonly PendingImage[], counts: SplitCounts, valFraction: number, seed: string): number[] {
  const byClass = new Map<number, { id: number; score: number; rel: string }[]>();
  for (const { id, rel, classId } of pending) {
    let list = byClass.get(classId);
    if (!list) byClass.set(classId, (list = []));
    list.push({ id, score: splitScore(seed, rel), rel });
  }
  const picks: number[] = [];
  for (const [cid, list] of byClass) {
    const c = counts.get(cid)!;
    const target = Math.round(c.n * valFraction);
    let open = Math.max(0, target - c.val);
    if (open === 0) continue;
    list.sort((a, b) => a.score - b.score || (a.rel < b.rel ? -1 : 1));
    for (const item of list) {
      if (open-- <= 0) break;
      picks.push(item.id);
    }
  }
  return picks;
}

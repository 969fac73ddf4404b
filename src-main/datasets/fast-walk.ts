/**
 * The native folder diff (native/fastwalk, an optional N-API addon built by `npm ci` where a C compiler is
 * present): one call per folder reads it, stats each file the snapshot knows relative to the folder, and returns
 * only the entries that are not unchanged known files. The scan then does per-entry JavaScript work only for
 * what changed, which is what makes an unchanged rescan cost little more than its stat calls.
 *
 * Without the addon (not built, Windows, `MIXUP_STUDIO_FAST_WALK=0`) the scan walks in JavaScript with the
 * same results; `MIXUP_STUDIO_DEBUG=1` says why the addon did not load.
 */
import { createRequire } from 'node:module';
import type { Split } from './repository';
import { isSplitCode, knownImage, knownRow, PER_ROW, splitOfCode, type KnownImage, type Snapshot } from './snapshot';

const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

/** Entry kinds, as the addon reports them and the walk uses them. */
export const KIND_FILE = 0;
export const KIND_FOLDER = 1;
export const KIND_LINK = 2;
export const KIND_OTHER = 3;
/** A name whose bytes are not UTF-8 (the addon checks the bytes; JavaScript only sees U+FFFD in their place). */
export const KIND_BAD_NAME = 4;

export interface FastWalkAddon {
  /** [prefix, firstRow, rows, byteStart, ...] per folder of the snapshot, or null when a folder's rows are not contiguous. */
  groups(rels: Buffer, count: number): (string | number)[] | null;
  /**
   * [unchanged, name, kind, row, ...] for the folder (names sorted as a readdir through libuv sorts them; row: the
   * snapshot row of that name or -1), or the errno code when the folder cannot be read. Sets seen[row] = 1 for
   * every unchanged row.
   */
  diff(
    dir: string,
    rels: Buffer,
    byteStart: number,
    rows: number,
    firstRow: number,
    prefixBytes: number,
    nums: Float64Array,
    seen: Uint8Array,
  ): (string | number)[] | string;
}

let addon: FastWalkAddon | null | undefined;

export function fastWalkAddon(): FastWalkAddon | undefined {
  if (process.env.MIXUP_STUDIO_FAST_WALK === '0') return undefined;
  if (addon === undefined) {
    addon = null;
    try {
      addon = req('mixup-studio-fastwalk') as FastWalkAddon;
    } catch (err) {
      if (process.env.MIXUP_STUDIO_DEBUG) {
        process.stderr.write(`mixup-studio: native folder diff off, walking in JavaScript: ${(err as Error).message.split('\n')[0]}\n`);
      }
    }
  }
  return addon ?? undefined;
}

/** What a folder's rows must hold for its unchanged files to need no look from JavaScript (see walk.ts and scan.ts). */
export interface FolderExpectation {
  /** The class id of the folder's class name, if the class exists. */
  classId: number | undefined;
  split: Split | null;
  source: 'folder' | 'manifest' | 'pending';
}

interface Group {
  first: number;
  rows: number;
  byteStart: number;
  byteEnd: number;
}

/**
 * A rescan's view of its snapshot through the addon. The scan keeps its `known` map (relative path -> row) for
 * what JavaScript looks at: rows enter it only when the walk meets a changed or unusual entry, when a folder is
 * walked in JavaScript, or, at the end, as the rows nobody met (the removed files).
 */
export class SnapshotDiff {
  /** Per row: 0 not met, 1 unchanged (the addon counted it), 2 handed to the scan's `known` map. */
  private readonly seen: Uint8Array;

  private constructor(
    private readonly addon: FastWalkAddon,
    private readonly snap: Snapshot,
    private readonly groups: Map<string, Group>,
  ) {
    this.seen = new Uint8Array(snap.count);
  }

  /** The diff, or undefined without the addon or when the snapshot is not grouped by folder (an older scan wrote it). */
  static open(snap: Snapshot): SnapshotDiff | undefined {
    const addon = fastWalkAddon();
    if (!addon) return undefined;
    for (let r = 0; r < snap.count; r++) if (!isSplitCode(snap.nums[r * PER_ROW + 4])) return undefined;
    const flat = addon.groups(snap.rels, snap.count);
    if (!flat) return undefined;
    const groups = new Map<string, Group>();
    for (let i = 0; i < flat.length; i += 4) {
      const next = i + 4 < flat.length ? (flat[i + 7] as number) - 1 : snap.rels.length;
      groups.set(flat[i] as string, { first: flat[i + 1] as number, rows: flat[i + 2] as number, byteStart: flat[i + 3] as number, byteEnd: next });
    }
    return new SnapshotDiff(addon, snap, groups);
  }

  /**
   * Diffs folder `dir` (relative path `prefix`) against its rows: the addon's answer, after the rows of the
   * entries it hands back have been put into `known`; or undefined when the folder is to be walked in
   * JavaScript (a folder the snapshot does not know, or whose rows do not all match `expect`; its rows are then
   * put into `known`).
   */
  folder(dir: string, prefix: string, expect: FolderExpectation | undefined, known: Map<string, KnownImage>): (string | number)[] | string | undefined {
    const g = this.groups.get(prefix);
    if (!g) return undefined;
    if (!expect || !this.matches(g, expect)) {
      this.handOver(g, known);
      return undefined;
    }
    const prefixBytes = prefix ? Buffer.byteLength(prefix) + 1 : 0;
    const res = this.addon.diff(dir, this.snap.rels, g.byteStart, g.rows, g.first, prefixBytes, this.snap.nums, this.seen);
    if (typeof res === 'string') {
      this.handOver(g, known);
      return res;
    }
    const relPrefix = prefix ? `${prefix}/` : '';
    for (let i = 1; i < res.length; i += 3) {
      const row = res[i + 2] as number;
      if (row < 0 || this.seen[row] !== 0) continue;
      const rel = relPrefix + (res[i] as string);
      known.set(rel, knownImage(knownRow(this.snap.nums, row, rel)!));
      this.seen[row] = 2;
    }
    return res;
  }

  /** Puts every row not met yet into `known`: after the walk, what is left there was removed. */
  handOverRest(known: Map<string, KnownImage>): void {
    for (const g of this.groups.values()) this.handOver(g, known);
  }

  /** Whether every row of the group has the class and split the scan would give a file of this folder. */
  private matches(g: Group, expect: FolderExpectation): boolean {
    if (expect.classId === undefined) return false;
    // A folder's files keep whatever split the seeded split gave them (auto or pending); split folders fix theirs.
    const accepts = (code: number): boolean => {
      const [split, source] = splitOfCode(code)!;
      return expect.source === 'pending' ? source === 'auto' || source === 'pending' : source === expect.source && split === expect.split;
    };
    const ok = new Map<number, boolean>();
    const nums = this.snap.nums;
    for (let r = g.first; r < g.first + g.rows; r++) {
      if (nums[r * PER_ROW + 3] !== expect.classId) return false;
      const code = nums[r * PER_ROW + 4];
      let good = ok.get(code);
      if (good === undefined) ok.set(code, (good = accepts(code)));
      if (!good) return false;
    }
    return true;
  }

  private handOver(g: Group, known: Map<string, KnownImage>): void {
    let any = false;
    for (let r = g.first; r < g.first + g.rows && !any; r++) any = this.seen[r] === 0;
    if (!any) return;
    const rels = this.snap.rels.toString('utf8', g.byteStart, g.byteEnd).split('\0');
    for (let k = 0; k < g.rows; k++) {
      const row = g.first + k;
      if (this.seen[row] !== 0) continue;
      known.set(rels[k], knownImage(knownRow(this.snap.nums, row, rels[k])!));
      this.seen[row] = 2;
    }
  }
}

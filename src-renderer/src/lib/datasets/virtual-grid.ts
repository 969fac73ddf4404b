/**
 * The arithmetic of the virtualised thumbnail gallery: which rows are on screen, which indexes they hold,
 * and which pages of `datasets:images` are needed for them. Pure, so it is unit-tested and costs O(1)
 * per scroll whatever the size of the class (100,000+ images).
 */

export interface GridGeometry {
  columns: number;
  rowHeight: number;
  tileWidth: number;
}

/**
 * How many tiles of at least `tile` px fit across `width` (at least one); the tiles then grow to fill the
 * row exactly (square), and `rowHeight` is the row pitch.
 */
export function gridGeometry(width: number, tile: number, gap: number, caption = 0): GridGeometry {
  const w = Math.max(0, width);
  const columns = Math.max(1, Math.floor((w + gap) / (tile + gap)));
  const tileWidth = Math.max(tile, Math.floor((w - (columns - 1) * gap) / columns));
  return { columns, rowHeight: tileWidth + caption + gap, tileWidth };
}

export interface VisibleRange {
  firstRow: number;
  lastRow: number; // exclusive
  start: number; // first item index
  end: number; // exclusive item index
  totalRows: number;
  height: number; // full scroll height in px
}

export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  geometry: GridGeometry,
  total: number,
  overscanRows = 2,
): VisibleRange {
  const { columns, rowHeight } = geometry;
  const totalRows = Math.ceil(Math.max(0, total) / columns);
  // A stale scroll position past the end (the class shrank) shows the last rows, never an empty range.
  const top = Math.max(0, Math.min(scrollTop, totalRows * rowHeight - Math.max(0, viewportHeight)));
  const firstRow = Math.max(0, Math.min(totalRows, Math.floor(top / rowHeight) - overscanRows));
  const lastRow = Math.max(firstRow, Math.min(totalRows, Math.ceil((top + Math.max(0, viewportHeight)) / rowHeight) + overscanRows));
  return {
    firstRow,
    lastRow,
    start: firstRow * columns,
    end: Math.min(total, lastRow * columns),
    totalRows,
    height: totalRows * rowHeight,
  };
}

/** The page numbers (of `pageSize` items) that cover the item indexes [start, end). */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  if (end <= start) return [];
  const pages: number[] = [];
  for (let p = Math.floor(start / pageSize); p * pageSize < end; p++) pages.push(p);
  return pages;
}

/** A small LRU of fetched pages so scrolling back is instant and memory stays bounded. */
export class PageCache<T> {
  private map = new Map<number, T[]>();
  constructor(private readonly capacity = 64) {}
  get(page: number): T[] | undefined {
    const v = this.map.get(page);
    if (v) {
      this.map.delete(page);
      this.map.set(page, v);
    }
    return v;
  }
  has(page: number): boolean {
    return this.map.has(page);
  }
  set(page: number, items: T[]): void {
    this.map.delete(page);
    this.map.set(page, items);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as number;
      this.map.delete(oldest);
    }
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

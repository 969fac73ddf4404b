/**
 * The arithmetic of the pair-policy heatmap: hit-testing a pointer to a (row, col) cell, the range of
 * cells in view, the colour of a weight, and the unordered pair key. Pure and O(1) per event, so a
 * 1,000 × 1,000 matrix stays interactive.
 */

export interface MatrixView {
  n: number; // classes shown on each axis
  cell: number; // px per cell
  scrollLeft: number;
  scrollTop: number;
  width: number; // viewport px
  height: number;
}

/** The cell under the viewport point (x, y), or null outside the matrix. */
export function cellAt(x: number, y: number, v: MatrixView): { row: number; col: number } | null {
  if (x < 0 || y < 0 || x >= v.width || y >= v.height) return null;
  const col = Math.floor((x + v.scrollLeft) / v.cell);
  const row = Math.floor((y + v.scrollTop) / v.cell);
  if (row < 0 || col < 0 || row >= v.n || col >= v.n) return null;
  return { row, col };
}

/** The rows and columns (half-open) with any pixel in view. */
export function cellsInView(v: MatrixView): { row0: number; row1: number; col0: number; col1: number } {
  const col0 = Math.max(0, Math.floor(v.scrollLeft / v.cell));
  const row0 = Math.max(0, Math.floor(v.scrollTop / v.cell));
  const col1 = Math.min(v.n, Math.ceil((v.scrollLeft + v.width) / v.cell));
  const row1 = Math.min(v.n, Math.ceil((v.scrollTop + v.height) / v.cell));
  return { row0, row1, col0, col1 };
}

/** The key of an unordered class pair. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/**
 * Heatmap colour of a weight in [0, 1]: forbidden (0) is a strong red, the default (1) a quiet slate,
 * partial weights in between (amber).
 */
export function weightColor(weight: number, diagonal = false): string {
  if (diagonal && weight >= 1) return '#2a2f3a';
  if (weight <= 0) return '#e5484d';
  if (weight >= 1) return '#3b4252';
  // 0 < w < 1: amber (low) → slate (high)
  const t = Math.max(0, Math.min(1, weight));
  const from = [245, 166, 35];
  const to = [59, 66, 82];
  const c = from.map((f, i) => Math.round(f + (to[i]! - f) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Indexes of the classes whose name contains the query (case-insensitive); all when the query is empty. */
export function filterClasses(classes: readonly string[], query: string): number[] {
  const q = query.trim().toLowerCase();
  const out: number[] = [];
  for (let i = 0; i < classes.length; i++) if (!q || classes[i]!.toLowerCase().includes(q)) out.push(i);
  return out;
}

/** Cell size that fits n cells in `available` px, clamped to [min, max]. */
export function fitCell(n: number, available: number, min = 2, max = 28): number {
  if (n <= 0) return max;
  return Math.max(min, Math.min(max, Math.floor(available / n)));
}

/** Pure helpers of the curation map: the class palette and the lasso's point-in-polygon test. */

/** Twelve well-separated hues, then the golden-angle walk for more classes. */
const PALETTE: [number, number, number][] = [
  [139, 124, 246], [61, 214, 140], [245, 166, 35], [229, 72, 77], [80, 180, 240], [240, 110, 200],
  [180, 220, 60], [255, 210, 90], [120, 140, 255], [60, 200, 200], [210, 140, 90], [170, 170, 190],
];

export function classColour(k: number): [number, number, number] {
  if (k < 0) return [110, 110, 120];
  if (k < PALETTE.length) return PALETTE[k]!;
  const h = (k * 137.508) % 360;
  const f = (n: number) => {
    const a = 0.55 * Math.min(0.6, 1 - 0.6);
    const t = (n + h / 30) % 12;
    return Math.round(255 * (0.6 - a * Math.max(-1, Math.min(t - 3, 9 - t, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Whether (x, y) is inside the polygon (even-odd rule). */
export function pointInPolygon(x: number, y: number, poly: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

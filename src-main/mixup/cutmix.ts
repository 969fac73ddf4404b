/** The CutMix box: where the partner's pixels are pasted, and the share of the sample's own pixels kept. */
import type { Rng } from './rng';

/** timm-style CutMix box for λ at [h, w], then λ corrected to the pixel share actually kept. */
export function cutmixBox(rng: Rng, lam: number, h: number, w: number): { box: [number, number, number, number]; kept: number } {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.floor(h * ratio);
  const cutW = Math.floor(w * ratio);
  const cy = rng.int(h);
  const cx = rng.int(w);
  const y0 = Math.max(0, Math.min(h, cy - Math.floor(cutH / 2)));
  const y1 = Math.max(0, Math.min(h, cy - Math.floor(cutH / 2) + cutH));
  const x0 = Math.max(0, Math.min(w, cx - Math.floor(cutW / 2)));
  const x1 = Math.max(0, Math.min(w, cx - Math.floor(cutW / 2) + cutW));
  const pasted = (y1 - y0) * (x1 - x0);
  return { box: [y0, x0, y1, x1], kept: 1 - pasted / (h * w) };
}

/** The EXIF orientation of a JPEG, read from its APP1 segment (the segments come from jpeg-segments.ts). */
import { APP1, EOI, jpegSegments, SOS } from './jpeg-segments';

/**
 * The EXIF orientation (1..8) of a JPEG, 1 when absent or unreadable. Lets the thumbnail step skip the
 * auto-rotation work for the (usual) upright images.
 */
export function jpegOrientation(b: Buffer): number {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return 1;
  for (const s of jpegSegments(b)) {
    if ('problem' in s || s.marker === SOS || s.marker === EOI) return 1;
    if (s.marker === APP1 && s.length >= 16 && b.toString('latin1', s.offset + 2, s.offset + 8) === 'Exif\u0000\u0000') {
      return exifOrientation(b, s.offset + 8, Math.min(b.length, s.offset + s.length));
    }
  }
  return 1;
}

/** The orientation tag of the TIFF structure at `t` (inside an APP1 segment ending at `end`), 1 when absent. */
function exifOrientation(b: Buffer, t: number, end: number): number {
  const le = b[t] === 0x49;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (t + 8 > end) return 1;
  const ifd = t + u32(t + 4);
  if (ifd + 2 > end) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > end) return 1;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

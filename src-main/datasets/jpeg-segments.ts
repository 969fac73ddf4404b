/**
 * The one walk over a JPEG's marker segments, shared by the probe's structural check (probe.ts), the EXIF
 * orientation (jpeg-orientation.ts) and the fast thumbnail path's header read (fast-thumb.ts).
 *
 * From `start` (just after SOI) it yields each marker with where its segment starts and its length: fill bytes
 * (0xFF padding before a marker) are skipped; standalone markers (SOI, EOI, TEM, RST0-7) have no length; after
 * SOS the entropy-coded data is skipped (stuffed 0xFF00, restart markers and fill bytes in it) up to the next
 * marker, so a caller that goes on past SOS reaches EOI. It stops after EOI, and it never reads past the end:
 * where the data is not a well-formed marker sequence it yields a problem, last, and stops. A segment whose
 * length runs past the end is still yielded (a caller that reads only its first bytes may use it); the next
 * item is then the problem 'end' (or 'scan-to-end' after SOS).
 *
 * Callers that only read the header break out at SOS: the generator is lazy, so the entropy-coded data is then
 * never scanned.
 */

export const SOI = 0xd8;
export const EOI = 0xd9;
export const SOS = 0xda;
export const APP1 = 0xe1;
export const APP2 = 0xe2;

export interface JpegSegment {
  marker: number;
  /** Byte index just after the marker code: a segment's length field, then its payload (from offset + 2). */
  offset: number;
  /** The segment's length field (it counts its own two bytes); 0 for a standalone marker. */
  length: number;
}

/**
 * Why the walk stopped short of EOI:
 * - `end`: the data ends where a marker should start;
 * - `no-marker`: the byte at `offset`, where a marker should start, is not 0xFF;
 * - `fill-to-end`: fill bytes run to the end;
 * - `short-length`: the data ends inside the length field of `marker`;
 * - `bad-length`: `marker`'s length field holds `length`, less than 2;
 * - `scan-to-end`: the entropy-coded data after SOS runs to the end.
 */
export interface JpegProblem {
  problem: 'end' | 'no-marker' | 'fill-to-end' | 'short-length' | 'bad-length' | 'scan-to-end';
  offset: number;
  marker?: number;
  length?: number;
}

/** RST0-7: restart markers, standalone, also found inside entropy-coded data. */
const isRestart = (m: number): boolean => m >= 0xd0 && m <= 0xd7;

/**
 * Markers without a length field. 0x00 is no marker (0xFF00 is a stuffed byte inside entropy-coded data); out
 * of place, it is yielded as a standalone marker for the caller to refuse.
 */
const isStandalone = (m: number): boolean => isRestart(m) || m === SOI || m === EOI || m === 0x01 /* TEM */ || m === 0x00;

/** A start-of-frame marker (SOF0-15), which are 0xC0-0xCF but DHT (0xC4), JPG (0xC8) and DAC (0xCC). */
export const isFrameMarker = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** The segments of `b` from `start` (see the file comment). */
export function* jpegSegments(b: Uint8Array, start = 2): Generator<JpegSegment | JpegProblem, void, undefined> {
  const n = b.length;
  let pos = start;
  for (;;) {
    if (pos >= n) {
      yield { problem: 'end', offset: pos };
      return;
    }
    if (b[pos] !== 0xff) {
      yield { problem: 'no-marker', offset: pos };
      return;
    }
    while (pos < n && b[pos] === 0xff) pos++;
    if (pos >= n) {
      yield { problem: 'fill-to-end', offset: pos };
      return;
    }
    const marker = b[pos++];
    if (isStandalone(marker)) {
      yield { marker, offset: pos, length: 0 };
      if (marker === EOI) return;
      continue;
    }
    if (pos + 2 > n) {
      yield { problem: 'short-length', offset: pos, marker };
      return;
    }
    const length = (b[pos] << 8) | b[pos + 1];
    if (length < 2) {
      yield { problem: 'bad-length', offset: pos, marker, length };
      return;
    }
    yield { marker, offset: pos, length };
    pos += length;
    if (marker !== SOS) continue;
    // Entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart marker.
    for (;;) {
      const ff = b.indexOf(0xff, pos);
      if (ff < 0 || ff + 1 >= n) {
        yield { problem: 'scan-to-end', offset: n };
        return;
      }
      const next = b[ff + 1];
      if (next === 0x00 || isRestart(next) || next === 0xff) {
        pos = next === 0xff ? ff + 1 : ff + 2;
        continue;
      }
      pos = ff;
      break;
    }
  }
}

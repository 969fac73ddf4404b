/**
 * Reads what the scan needs from an image's bytes without decoding pixels: the format, width, height and
 * channels from the header, and a structural check that catches truncated and garbage files (JPEG markers
 * through EOI, PNG chunks and CRCs through IEND, RIFF sizes, GIF blocks through the trailer, TIFF IFD and
 * strip offsets within the file, ISO-BMFF box sizes). Channels follow what sharp reports after decoding.
 */
import { crc32 } from 'node:zlib';
import { EOI, isFrameMarker, jpegSegments, SOI, SOS } from './jpeg-segments';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heif';

export type ProbeResult =
  | { ok: true; format: ImageFormat; width: number; height: number; channels: number }
  | { ok: false; reason: string; format?: ImageFormat };

class Bad extends Error {}
function bad(reason: string): never {
  throw new Bad(reason);
}

export function probeImage(buf: Buffer): ProbeResult {
  let format: ImageFormat | undefined;
  try {
    if (buf.length === 0) return { ok: false, reason: 'empty file' };
    format = sniff(buf);
    if (!format) return { ok: false, reason: `not an image: ${describeStart(buf)}` };
    const dims = PARSERS[format](buf);
    if (!(dims.width > 0 && dims.height > 0)) bad(`invalid size ${dims.width}x${dims.height}`);
    return { ok: true, format: dims.format ?? format, width: dims.width, height: dims.height, channels: dims.channels };
  } catch (err) {
    if (err instanceof Bad) return { ok: false, reason: `${format ?? 'image'}: ${err.message}`, format };
    if (err instanceof RangeError) return { ok: false, reason: `${format ?? 'image'}: truncated header`, format };
    throw err;
  }
}

/** What the start of a file that is no image looks like, without quoting a byte of it (it may be anything). */
function describeStart(buf: Buffer): string {
  const head = buf.subarray(0, 8);
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable ? 'no image signature (it starts with text)' : 'unrecognised signature';
}

function sniff(b: Buffer): ImageFormat | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return 'gif';
  // Classic TIFF (version 42) and BigTIFF (version 43), either byte order.
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && (b[2] === 42 || b[2] === 43) && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 42 || b[3] === 43)))) {
    return 'tiff';
  }
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp') {
    const brands = ftypBrands(b);
    if (brands.some((x) => x === 'avif' || x === 'avis')) return 'avif';
    if (brands.some((x) => ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1'].includes(x))) return 'heif';
  }
  return undefined;
}

interface Dims {
  width: number;
  height: number;
  channels: number;
  format?: ImageFormat;
}

const PARSERS: Record<ImageFormat, (b: Buffer) => Dims> = {
  jpeg: parseJpeg,
  png: parsePng,
  webp: parseWebp,
  gif: parseGif,
  tiff: parseTiff,
  avif: parseBmff,
  heif: parseBmff,
};

// ---------------------------------------------------------------- JPEG
/** Every segment through EOI (jpeg-segments.ts walks them, the entropy-coded data included). */
function parseJpeg(b: Buffer): Dims {
  const n = b.length;
  let frame: Dims | undefined;
  let sawScan = false;
  for (const s of jpegSegments(b)) {
    if ('problem' in s) {
      if (s.problem === 'no-marker') bad(`expected a marker at byte ${s.offset}, found 0x${b[s.offset].toString(16)}`);
      if (s.problem === 'short-length') bad('truncated inside a marker segment');
      if (s.problem === 'bad-length') bad(`segment 0x${s.marker!.toString(16)} has invalid length ${s.length}`);
      bad(s.problem === 'end' && !sawScan ? 'truncated before the image data' : 'truncated: no EOI marker');
    }
    const { marker: m, offset: pos, length: len } = s;
    if (m === EOI) break;
    if (m === SOI || m === 0x00) bad(`unexpected marker 0x${m.toString(16)} at byte ${pos - 1}`);
    if (len === 0) continue; // standalone
    if (pos + len > n) bad(`truncated: segment 0x${m.toString(16)} runs past the end of the file`);
    if (isFrameMarker(m)) {
      if (len < 8) bad('frame header too short');
      const height = b.readUInt16BE(pos + 3);
      const width = b.readUInt16BE(pos + 5);
      const comps = b[pos + 7];
      if (height === 0) bad('height defined by a DNL marker is not supported');
      if (![1, 3, 4].includes(comps)) bad(`unsupported component count ${comps}`);
      if (len < 8 + 3 * comps) bad('frame header too short for its components');
      frame ??= { width, height, channels: comps };
    } else if (m === SOS) {
      if (!frame) bad('scan before the frame header');
      sawScan = true;
    }
  }
  if (!frame) bad('no frame header');
  if (!sawScan) bad('no image data (no SOS segment)');
  // CMYK (4 components, or Adobe YCCK) decodes to 4 channels; the Adobe transform does not change the count.
  return frame;
}

// ---------------------------------------------------------------- PNG
function parsePng(b: Buffer): Dims {
  const n = b.length;
  let pos = 8;
  let dims: Dims | undefined;
  let colorType = -1;
  let hasTrns = false;
  let sawIdat = false;
  let first = true;
  for (;;) {
    if (pos + 8 > n) bad('truncated: no IEND chunk');
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) bad(`invalid chunk type at byte ${pos}`);
    const dataEnd = pos + 8 + len;
    if (len > 0x7fffffff || dataEnd + 4 > n) bad(`truncated: chunk ${type} runs past the end of the file`);
    const crc = b.readUInt32BE(dataEnd);
    if (crc32(b.subarray(pos + 4, dataEnd)) !== crc) bad(`CRC mismatch in chunk ${type} at byte ${pos}`);
    if (first) {
      if (type !== 'IHDR' || len !== 13) bad('first chunk is not IHDR');
      const width = b.readUInt32BE(pos + 8);
      const height = b.readUInt32BE(pos + 12);
      const depth = b[pos + 16];
      colorType = b[pos + 17];
      const base: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
      if (!(colorType in base)) bad(`invalid colour type ${colorType}`);
      if (![1, 2, 4, 8, 16].includes(depth)) bad(`invalid bit depth ${depth}`);
      dims = { width, height, channels: base[colorType] };
      first = false;
    } else if (type === 'tRNS') hasTrns = true;
    else if (type === 'IDAT') sawIdat = true;
    else if (type === 'IEND') break;
    pos = dataEnd + 4;
  }
  if (!dims) bad('no IHDR chunk');
  if (!sawIdat) bad('no image data (no IDAT chunk)');
  if (hasTrns && (colorType === 0 || colorType === 2 || colorType === 3)) dims.channels += 1;
  return dims;
}

// ---------------------------------------------------------------- WebP
function parseWebp(b: Buffer): Dims {
  const riffSize = b.readUInt32LE(4);
  if (riffSize + 8 > b.length) bad(`truncated: RIFF size ${riffSize + 8} exceeds the file size ${b.length}`);
  if (riffSize < 4) bad('RIFF size too small');
  const end = riffSize + 8;
  let pos = 12;
  let dims: Dims | undefined;
  let alpha = false;
  let sawImage = false;
  while (pos + 8 <= end) {
    const type = b.toString('latin1', pos, pos + 4);
    const len = b.readUInt32LE(pos + 4);
    const data = pos + 8;
    if (data + len > end) bad(`truncated: chunk ${type.trim()} runs past the RIFF end`);
    if (type === 'VP8X') {
      if (len < 10) bad('VP8X chunk too short');
      alpha = (b[data] & 0x10) !== 0;
      const width = 1 + b.readUIntLE(data + 4, 3);
      const height = 1 + b.readUIntLE(data + 7, 3);
      dims = { width, height, channels: 3 };
    } else if (type === 'VP8 ') {
      if (len < 10) bad('VP8 chunk too short');
      if (b[data + 3] !== 0x9d || b[data + 4] !== 0x01 || b[data + 5] !== 0x2a) bad('VP8 start code missing');
      const partition = (b[data] | (b[data + 1] << 8) | (b[data + 2] << 16)) >>> 5;
      if (10 + partition > len) bad('VP8 first partition runs past its chunk');
      dims ??= { width: b.readUInt16LE(data + 6) & 0x3fff, height: b.readUInt16LE(data + 8) & 0x3fff, channels: 3 };
      sawImage = true;
    } else if (type === 'VP8L') {
      if (len < 5 || b[data] !== 0x2f) bad('VP8L signature missing');
      const bits = b.readUInt32LE(data + 1);
      if (!dims) {
        dims = { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, channels: 3 };
        if ((bits >>> 28) & 1) alpha = true;
      }
      sawImage = true;
    } else if (type === 'ALPH') {
      alpha = true;
    } else if (type === 'ANMF') {
      sawImage = true;
    }
    pos = data + len + (len & 1);
  }
  if (!dims) bad('no VP8/VP8L/VP8X header');
  if (!sawImage) bad('no image data');
  if (alpha) dims.channels = 4;
  return dims;
}

// ---------------------------------------------------------------- GIF
function parseGif(b: Buffer): Dims {
  const n = b.length;
  const width = b.readUInt16LE(6);
  const height = b.readUInt16LE(8);
  const flags = b[10];
  let pos = 13;
  if (flags & 0x80) pos += 3 * (1 << ((flags & 7) + 1));
  let frames = 0;
  const skipSubBlocks = () => {
    for (;;) {
      if (pos >= n) bad('truncated: no trailer');
      const len = b[pos++];
      if (len === 0) return;
      pos += len;
    }
  };
  for (;;) {
    if (pos >= n) bad('truncated: no trailer');
    const t = b[pos++];
    if (t === 0x3b) break;
    if (t === 0x21) {
      pos++; // label
      skipSubBlocks();
    } else if (t === 0x2c) {
      if (pos + 9 > n) bad('truncated image descriptor');
      const lflags = b[pos + 8];
      pos += 9;
      if (lflags & 0x80) pos += 3 * (1 << ((lflags & 7) + 1));
      pos++; // LZW minimum code size
      skipSubBlocks();
      frames++;
    } else {
      bad(`unexpected block 0x${t.toString(16)} at byte ${pos - 1}`);
    }
  }
  if (frames === 0) bad('no image data');
  // libvips decodes GIF to RGBA.
  return { width, height, channels: 4 };
}

// ---------------------------------------------------------------- TIFF
/**
 * Walks the IFD chain of a classic TIFF (32-bit offsets, 12-byte entries) or a BigTIFF (64-bit offsets,
 * 20-byte entries): every IFD, every out-of-line tag value and every strip/tile must lie inside the file.
 */
function parseTiff(b: Buffer): Dims {
  const n = b.length;
  const le = b[0] === 0x49;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => {
    const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    // Offsets past 2^53 cannot be inside any file we can read: report them as past the end.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const big = u16(2) === 43;
  if (big) {
    if (n < 16) bad('truncated BigTIFF header');
    if (u16(4) !== 8 || u16(6) !== 0) bad(`BigTIFF offset size ${u16(4)} (expected 8)`);
  } else if (n < 8) bad('truncated TIFF header');
  // Field sizes of this variant: IFD entry count, entry, value/offset slot, next-IFD offset.
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const slot = big ? 8 : 4;
  const off = big ? u64 : u32;
  const entryCount = big ? u64 : u16;
  const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };
  let ifd = off(big ? 8 : 4);
  let dims: Dims | undefined;
  const seen = new Set<number>();
  while (ifd !== 0) {
    if (seen.has(ifd)) bad('IFD chain loops');
    seen.add(ifd);
    if (ifd + countSize > n) bad(`IFD offset ${ifd} is past the end of the file`);
    const count = entryCount(ifd);
    const first = ifd + countSize;
    if (first + count * entrySize + slot > n) bad(`truncated: IFD at ${ifd} runs past the end of the file`);
    const entry = (i: number) => first + i * entrySize;
    const valueCount = (e: number) => (big ? u64(e + 4) : u32(e + 4));
    const values = (i: number): number[] => {
      const e = entry(i);
      const type = u16(e + 2);
      const cnt = valueCount(e);
      const size = TYPE_SIZE[type] ?? 1;
      const total = size * cnt;
      const at = total <= slot ? e + 4 + (big ? 8 : 4) : off(e + 4 + (big ? 8 : 4));
      if (at + total > n) bad(`tag ${u16(e)} points past the end of the file`);
      const out: number[] = [];
      const max = Math.min(cnt, 1 << 20);
      for (let k = 0; k < max; k++) {
        out.push(type === 3 ? u16(at + 2 * k) : type === 4 || type === 13 ? u32(at + 4 * k) : type === 16 || type === 18 ? u64(at + 8 * k) : b[at + k]);
      }
      return out;
    };
    const tags = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const e = entry(i);
      tags.set(u16(e), i);
      // Every out-of-line tag value must lie inside the file.
      const total = (TYPE_SIZE[u16(e + 2)] ?? 1) * valueCount(e);
      if (total > slot && off(e + 4 + (big ? 8 : 4)) + total > n) bad(`truncated: tag ${u16(e)} data runs past the end of the file`);
    }
    const tag = (t: number) => (tags.has(t) ? values(tags.get(t)!) : undefined);
    const width = tag(256)?.[0] ?? 0;
    const height = tag(257)?.[0] ?? 0;
    const spp = tag(277)?.[0] ?? 1;
    const offsets = tag(273) ?? tag(324);
    const counts = tag(279) ?? tag(325);
    if (!offsets || !counts) bad('no strip or tile offsets');
    if (offsets.length !== counts.length) bad('strip offsets and byte counts differ in number');
    for (let k = 0; k < offsets.length; k++) {
      if (offsets[k] + counts[k] > n) bad(`truncated: image data (strip ${k}) runs past the end of the file`);
    }
    dims ??= { width, height, channels: spp };
    ifd = off(first + count * entrySize);
    if (seen.size > 10000) bad('too many IFDs');
  }
  if (!dims) bad('no IFD');
  return dims;
}

// ---------------------------------------------------------------- AVIF / HEIF (ISO BMFF)
function ftypBrands(b: Buffer): string[] {
  const size = b.readUInt32BE(0);
  const end = Math.min(size, b.length);
  const brands = [b.toString('latin1', 8, 12)];
  for (let p = 16; p + 4 <= end; p += 4) brands.push(b.toString('latin1', p, p + 4));
  return brands;
}

function parseBmff(b: Buffer): Dims {
  const n = b.length;
  const format: ImageFormat = ftypBrands(b).some((x) => x === 'avif' || x === 'avis') ? 'avif' : 'heif';
  let width = 0;
  let height = 0;
  let channels = 0;
  let alpha = false;
  let sawMeta = false;
  let sawMdat = false;
  const walk = (start: number, end: number, depth: number) => {
    let pos = start;
    while (pos + 8 <= end) {
      let size = b.readUInt32BE(pos);
      const type = b.toString('latin1', pos + 4, pos + 8);
      let header = 8;
      if (size === 1) {
        if (pos + 16 > end) bad(`truncated: box ${type}`);
        size = Number(b.readBigUInt64BE(pos + 8));
        header = 16;
      } else if (size === 0) size = end - pos;
      if (size < header || pos + size > end) bad(`truncated: box '${type}' runs past ${depth === 0 ? 'the end of the file' : 'its parent'}`);
      const body = pos + header;
      if (type === 'meta') {
        sawMeta = true;
        walk(body + 4, pos + size, depth + 1);
      } else if (type === 'iprp' || type === 'ipco') {
        walk(body, pos + size, depth + 1);
      } else if (type === 'ispe' && width === 0) {
        width = b.readUInt32BE(body + 4);
        height = b.readUInt32BE(body + 8);
      } else if (type === 'pixi' && channels === 0) {
        channels = b[body + 4];
      } else if (type === 'auxC') {
        if (b.toString('latin1', body + 4, pos + size).includes('auxiliary:alpha')) alpha = true;
      } else if (type === 'mdat' && depth === 0) {
        sawMdat = true;
      }
      pos += size;
    }
    if (depth === 0 && pos !== end) bad('trailing bytes after the last box');
  };
  walk(0, n, 0);
  if (!sawMeta) bad("no 'meta' box");
  if (!sawMdat) bad("no image data ('mdat' box)");
  if (!width || !height) bad("no image size ('ispe' box)");
  if (channels === 0) channels = 3;
  if (alpha) channels += 1;
  return { width, height, channels, format };
}

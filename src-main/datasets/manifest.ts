/**
 * The CSV manifest of `index --manifest FILE` (`path,label[,split]`, RFC 4180 quotes, a header first), read
 * as a stream: fixed-size chunks through an incremental parser, so memory holds one chunk and one row
 * whatever the file's size. The scan pulls rows synchronously (like its folder walk), so the reads are
 * synchronous too; the file is checked first by `core/user-files` (a regular file, below a cap).
 *
 * A file that is not a manifest (no `path,label` header, a NUL byte, a quote never closed, a row longer than
 * any path) is refused whole, and the error names the file and the line, never its contents: the user may
 * have named a file that is not theirs to show (`/etc/shadow`).
 *
 * `manifestCandidates` turns the rows into the scan's candidate files; a row it cannot use is an issue.
 */
import { closeSync, existsSync, readSync } from 'node:fs';
import { basename, extname, isAbsolute, relative, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../core/errors';
import { MANIFEST_MAX_BYTES, openUserFile } from '../core/user-files';
import { IMAGE_EXTENSIONS, posixRel, SPLIT_FOLDERS, type Candidate, type Issue } from './candidates';
import type { Split } from './repository';

/** Longer than any path and label (PATH_MAX is 4096); a longer row means the file is something else. */
export const MANIFEST_MAX_ROW_CHARS = 64 * 1024;
const CHUNK_BYTES = 64 * 1024;

export interface CsvRow {
  /** 1-based line on which the row starts. */
  line: number;
  cells: string[];
}

/** Why a text is not CSV, with the line: thrown by the parser, turned into "FILE is not a manifest (…)". */
class NotCsv extends Error {
  constructor(
    readonly line: number,
    readonly why: string,
  ) {
    super(`line ${line}: ${why}`);
  }
}

/**
 * RFC 4180 rows from text pushed in pieces of any size (the same rows and line numbers as one piece):
 * quoted cells may hold commas, quotes (`""`) and line breaks; CRLF, LF or CR end a row; blank lines are
 * skipped. A character whose meaning depends on the next one (`"` in a quoted cell, CR) waits for it.
 */
export class CsvRowParser {
  private cells: string[] = [];
  private cell = '';
  private quoted = false;
  private any = false;
  private line = 1;
  private rowLine = 1;
  private rowChars = 0;
  private carry = '';

  constructor(private readonly maxRowChars = MANIFEST_MAX_ROW_CHARS) {}

  push(piece: string): CsvRow[] {
    const text = this.carry + piece;
    this.carry = '';
    const rows: CsvRow[] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\u0000') throw new NotCsv(this.line, 'a NUL byte');
      if ((ch === '"' && this.quoted) || ch === '\r') {
        if (i + 1 === text.length) {
          this.carry = ch;
          break;
        }
      }
      if (++this.rowChars > this.maxRowChars) throw new NotCsv(this.rowLine, `a row longer than ${this.maxRowChars / 1024} KiB`);
      if (this.quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            this.cell += '"';
            i++;
          } else this.quoted = false;
        } else {
          if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) this.line++;
          this.cell += ch;
        }
        continue;
      }
      if (ch === '"' && this.cell === '') {
        this.quoted = true;
        this.any = true;
      } else if (ch === ',') {
        this.cells.push(this.cell);
        this.cell = '';
        this.any = true;
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && text[i + 1] === '\n') i++;
        this.endRow(rows);
        this.line++;
        this.rowLine = this.line;
      } else {
        this.cell += ch;
        this.any = true;
      }
    }
    return rows;
  }

  /** The last row (a file need not end with a line break); throws on a quote never closed. */
  end(): CsvRow[] {
    const rows = this.carry ? this.push('\n') : [];
    this.carry = '';
    if (this.quoted) throw new NotCsv(this.rowLine, 'a quote that is never closed');
    this.endRow(rows);
    return rows;
  }

  private endRow(rows: CsvRow[]): void {
    this.cells.push(this.cell);
    if (this.any || this.cell !== '') rows.push({ line: this.rowLine, cells: this.cells });
    this.cells = [];
    this.cell = '';
    this.any = false;
    this.rowChars = 0;
  }
}

function notManifest(file: string, why: string): AppError {
  return new AppError('input', `${file} is not a manifest (${why})`);
}

/** Every CSV row of the file, streamed; the fd is closed when the caller stops (return/throw) or at the end. */
function* csvRows(file: string): Generator<CsvRow> {
  const { fd, path } = openUserFile(file, { what: 'manifest', maxBytes: MANIFEST_MAX_BYTES });
  const decoder = new StringDecoder('utf8');
  const parser = new CsvRowParser();
  const buf = Buffer.alloc(CHUNK_BYTES);
  let total = 0;
  let first = true;
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        throw new AppError('io', `cannot read manifest ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      total += got;
      if (total > MANIFEST_MAX_BYTES) throw new AppError('input', `manifest ${path} grew past the ${MANIFEST_MAX_BYTES / 2 ** 30} GiB limit while being read`);
      let text = got === 0 ? decoder.end() : decoder.write(buf.subarray(0, got));
      if (first && text) {
        text = text.replace(/^\uFEFF/, '');
        first = false;
      }
      const rows = got === 0 ? [...parser.push(text), ...parser.end()] : parser.push(text);
      yield* rows;
      if (got === 0) return;
    }
  } catch (err) {
    throw err instanceof NotCsv ? notManifest(path, err.message) : err;
  } finally {
    closeSync(fd);
  }
}

/**
 * The header row's column order, or undefined when the row is not a header: `path` and `label`, and maybe
 * `split`, in any order (any case, cells trimmed), each once.
 */
function headerOrder(cells: string[]): number[] | undefined {
  const names = cells.map((c) => c.trim().toLowerCase());
  if (names.length < 2 || names.length > 3 || new Set(names).size !== names.length) return undefined;
  const order = ['path', 'label', 'split'].slice(0, names.length).map((n) => names.indexOf(n));
  return order.every((i) => i >= 0) ? order : undefined;
}

/**
 * The data rows of a manifest (header checked and left out), streamed, their cells put in the order
 * `path,label[,split]` whatever the header's order. Throws AppError('input') naming the file when it is not a
 * manifest; the rows themselves are the scan's to judge (it reports a bad one by line).
 */
export function* readManifest(file: string): Generator<CsvRow> {
  let order: number[] | undefined;
  for (const row of csvRows(file)) {
    if (!order) {
      order = headerOrder(row.cells);
      if (!order) throw notManifest(file, 'expected a header with path and label columns');
      continue;
    }
    // A shorter row (a trailing empty split left out) is read by the header's columns, its missing cells empty;
    // a row of one field or more fields than the header is left as it is: the scan reports its count of fields.
    const n = row.cells.length;
    yield n >= 2 && n <= order.length ? { ...row, cells: order.map((i) => row.cells[i] ?? '') } : row;
  }
  if (!order) throw notManifest(file, 'expected a header with path and label columns');
}

/** Reads the whole manifest once without keeping it, so a file that is not one is refused before the scan starts. */
export function checkManifest(file: string): void {
  for (const _ of readManifest(file));
}

/** The manifest's rows as candidates, streamed (readManifest reads and checks the file); bad rows are issues. */
export function* manifestCandidates(root: string, manifest: string, issues: Issue[]): Generator<Candidate[]> {
  const name = basename(manifest);
  const seen = new Set<string>();
  for (const { line, cells } of readManifest(manifest)) {
    const [rawPath = '', rawLabel = '', rawSplit = ''] = cells.map((c) => c.trim());
    const where = `${name} line ${line}`;
    const rel = rawPath ? posixRel(isAbsolute(rawPath) ? rawPath : relative(root, resolve(root, rawPath))) : `${name}:${line}`;
    if (cells.length < 2 || cells.length > 3) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: expected path,label[,split], got ${cells.length} field(s)` });
      continue;
    }
    if (!rawPath) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: empty path` });
      continue;
    }
    if (!rawLabel) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: empty label for ${rawPath}` });
      continue;
    }
    let split: Split | null = null;
    if (rawSplit) {
      split = SPLIT_FOLDERS[rawSplit.toLowerCase()] ?? null;
      if (!split) {
        issues.push({ rel, kind: 'manifest', reason: `${where}: unknown split '${rawSplit}' (train, val or test)` });
        continue;
      }
    }
    if (seen.has(rel)) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: ${rawPath} is listed twice (first row kept)` });
      continue;
    }
    const file = isAbsolute(rawPath) ? rawPath : resolve(root, rawPath);
    const ext = extname(file).toLowerCase();
    if (!IMAGE_EXTENSIONS.has(ext)) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: ${rawPath} has no image extension` });
      continue;
    }
    if (!existsSync(file)) {
      issues.push({ rel, kind: 'manifest', reason: `${where}: file not found: ${rawPath}` });
      continue;
    }
    seen.add(rel);
    yield [{ rel, file, cls: rawLabel, split, source: split ? 'manifest' : 'pending' }];
  }
}

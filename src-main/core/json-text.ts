/**
 * JSON from a place the user controls (a file they name, a request body), read without two hazards:
 * - V8's JSON.parse error messages quote the input text ("Unexpected token 'r', "root:x:0:0…" is not valid
 *   JSON"), which would echo a foreign file back; `parseJsonText` finds the error itself and says only where.
 * - JSON.parse is iterative, but almost everything after it (JSON.stringify, structuredClone, zod, our own
 *   walks) recurses: a 100,000-deep `[[[…]]]` overflows the stack there. Both entry points refuse nesting
 *   deeper than `MAX_JSON_DEPTH`, naming the field where it happens.
 */
import { AppError } from './errors';

/** Deeper than any document the app reads or writes (a run config is 4 levels, a policy 3). */
export const MAX_JSON_DEPTH = 64;

/** `policy.pairs[3]`-style name of a field path; the top level is `(document)`. */
export function fieldName(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(document)';
  const shown = path.slice(0, 4);
  const s = shown.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return path.length > shown.length ? `${s}…` : s;
}

function tooDeep(source: string, path: readonly (string | number)[], max: number): AppError {
  return new AppError('input', `${source}: ${fieldName(path)}: nested more than ${max} levels deep`);
}

/** Throws AppError('input') naming the field when `value` nests objects/arrays deeper than `max` (iterative). */
export function checkJsonDepth(value: unknown, source: string, max = MAX_JSON_DEPTH): void {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= max) throw tooDeep(source, path, max);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: [...path, i] }));
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: [...path, k] });
  }
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * Checks JSON syntax and depth without recursion and without JSON.parse. Returns the offset of the first
 * syntax error (or -1), and throws the depth error itself.
 */
function scanJson(text: string, source: string, max: number): number {
  // One frame per open container: its kind, the key / index it is at (for the depth error's field name).
  const frames: { obj: boolean; key: string | number }[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const match = (re: RegExp): string | null => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  // States: expecting a value; after a value (expecting , ] } or the end); expecting a key (after { or ,).
  let state: 'value' | 'after' | 'key' | 'first-key' | 'first-value' = 'value';
  for (;;) {
    skip();
    const c = text[i];
    if (state === 'value' || state === 'first-value') {
      if (c === ']' && state === 'first-value') {
        frames.pop();
        i++;
        state = 'after';
        continue;
      }
      if (c === '{' || c === '[') {
        if (frames.length >= max) throw tooDeep(source, frames.map((f) => f.key), max);
        frames.push({ obj: c === '{', key: c === '{' ? '' : 0 });
        i++;
        state = c === '{' ? 'first-key' : 'first-value';
        continue;
      }
      if (c === '"') {
        if (match(STRING) === null) return i;
      } else if (c === 't' || c === 'f' || c === 'n') {
        const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
        if (text.startsWith(word, i)) i += word.length;
        else return i;
      } else if (match(NUMBER) === null) return i;
      state = 'after';
      continue;
    }
    if (state === 'key' || state === 'first-key') {
      if (c === '}' && state === 'first-key') {
        frames.pop();
        i++;
        state = 'after';
        continue;
      }
      const at = i;
      const key = c === '"' ? match(STRING) : null;
      if (key === null) return at;
      frames[frames.length - 1]!.key = JSON.parse(key) as string;
      skip();
      if (text[i] !== ':') return i;
      i++;
      state = 'value';
      continue;
    }
    // After a value.
    const top = frames[frames.length - 1];
    if (!top) return i < text.length ? i : -1;
    if (c === ',') {
      i++;
      if (top.obj) state = 'key';
      else {
        top.key = (top.key as number) + 1;
        state = 'value';
      }
    } else if ((c === '}' && top.obj) || (c === ']' && !top.obj)) {
      frames.pop();
      i++;
    } else return i;
  }
}

/**
 * Parses JSON text from `file` (a path or a word like "request body"). A syntax error becomes
 * "FILE: not valid JSON (at line L, column C)", never V8's message, which quotes the text.
 */
export function parseJsonText(text: string, file: string, max = MAX_JSON_DEPTH): unknown {
  const at = scanJson(text, file, max);
  if (at >= 0) {
    const { line, column } = lineColumn(text, at);
    const what = at >= text.length ? `it ends early, at line ${line}` : `at line ${line}, column ${column}`;
    throw new AppError('input', `${file}: not valid JSON (${what})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The scan above accepts only valid JSON; should the two ever disagree, still quote nothing.
    throw new AppError('input', `${file}: not valid JSON`);
  }
}

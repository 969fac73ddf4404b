/**
 * A sweep's search space (issue 16): what `--param KEY=...` says, parsed once, and the points drawn from it.
 *
 * - `KEY=V1,V2,...` a list of values. Each value is read as JSON where it parses (`0.2`, `true`, `null`,
 *   `"elem"`, `[0, 1]`), else as the text itself (`elem`); commas inside brackets or quotes do not split.
 * - `KEY=LO..HI` a uniform range, `KEY=log:LO..HI` a log-uniform one, `KEY=int:LO..HI` whole numbers from LO
 *   to HI inclusive: for `random` and `bayes` (a grid needs values).
 *
 * KEY is a dotted run-config key (`mixup.alpha`, `optimizer.lr`, `model.backbone`); whether it and its values
 * are valid is the run config's own check, made for every point before any trial starts (./validate.ts).
 */
import { AppError } from '../core/errors';
import type { Rng } from '../mixup/rng';

export type ParamValue = number | string | boolean | null | unknown[] | Record<string, unknown>;

export type ParamSpec =
  | { key: string; kind: 'values'; values: ParamValue[] }
  | { key: string; kind: 'range'; scale: 'linear' | 'log' | 'int'; min: number; max: number };

export type Point = Record<string, ParamValue>;

const KEY = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;

/** Splits at top-level commas (not inside [], {} or a quoted string). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim());
}

function parseValue(text: string): ParamValue {
  try {
    return JSON.parse(text) as ParamValue;
  } catch {
    return text;
  }
}

function finite(what: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new AppError('input', `${what}: '${text}' is not a number`);
  return n;
}

/** One `--param KEY=...` argument; errors name the argument. */
export function parseParam(arg: string): ParamSpec {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new AppError('input', `--param '${arg}': write KEY=V1,V2,... (or KEY=LO..HI), e.g. mixup.alpha=0.1,0.2,0.4`);
  const key = arg.slice(0, eq).trim();
  const rest = arg.slice(eq + 1).trim();
  if (!KEY.test(key)) throw new AppError('input', `--param '${arg}': '${key}' is not a dotted run-config key (e.g. mixup.alpha)`);
  if (rest === '') throw new AppError('input', `--param ${key}: give at least one value`);
  const range = /^(?:(log|int|linear):)?([^,]*?)\.\.([^,]*)$/.exec(rest);
  if (range && !rest.startsWith('"') && !rest.startsWith('[')) {
    const scale = (range[1] ?? 'linear') as 'linear' | 'log' | 'int';
    const min = finite(`--param ${key}`, range[2]);
    const max = finite(`--param ${key}`, range[3]);
    if (!(max > min)) throw new AppError('input', `--param ${key}: the range ${min}..${max} is empty (write LO..HI with LO < HI)`);
    if (scale === 'log' && min <= 0) throw new AppError('input', `--param ${key}: a log range needs LO > 0, got ${min}`);
    if (scale === 'int' && (!Number.isInteger(min) || !Number.isInteger(max))) throw new AppError('input', `--param ${key}: an int range needs whole ends, got ${min}..${max}`);
    return { key, kind: 'range', scale, min, max };
  }
  const values = splitTopLevel(rest).map((v, i) => {
    if (v === '') throw new AppError('input', `--param ${key}: value ${i + 1} is empty`);
    return parseValue(v);
  });
  const seen = new Set<string>();
  for (const v of values) {
    const k = JSON.stringify(v);
    if (seen.has(k)) throw new AppError('input', `--param ${key}: ${k} is listed twice`);
    seen.add(k);
  }
  return { key, kind: 'values', values };
}

/** Checks the whole space: one spec per key, no key inside another's. */
export function checkSpace(space: ParamSpec[]): void {
  if (space.length === 0) throw new AppError('input', '--param: name at least one parameter to sweep (e.g. --param mixup.alpha=0.1,0.2,0.4)');
  const keys = space.map((s) => s.key);
  for (const [i, k] of keys.entries()) {
    if (keys.indexOf(k) !== i) throw new AppError('input', `--param ${k}: given twice`);
    const parent = keys.find((o) => o !== k && k.startsWith(`${o}.`));
    if (parent) throw new AppError('input', `--param ${k}: inside --param ${parent}, which sets it whole`);
  }
}

/** The number of points of a grid (every combination of the lists). */
export function gridSize(space: ParamSpec[]): number {
  return space.reduce((n, s) => n * (s.kind === 'values' ? s.values.length : Infinity), 1);
}

/** Every point of a grid, the last key varying fastest (like W&B's grid). */
export function gridPoints(space: ParamSpec[]): Point[] {
  for (const s of space) {
    if (s.kind !== 'values') throw new AppError('input', `--param ${s.key}: a grid needs a list of values (KEY=V1,V2,...); a range (${s.min}..${s.max}) is for --method random or bayes`);
  }
  let points: Point[] = [{}];
  for (const s of space as Extract<ParamSpec, { kind: 'values' }>[]) {
    points = points.flatMap((p) => s.values.map((v) => ({ ...p, [s.key]: v })));
  }
  return points;
}

/** One value of a spec drawn from `rng`. */
export function drawValue(s: ParamSpec, rng: Rng): ParamValue {
  if (s.kind === 'values') return s.values[rng.int(s.values.length)];
  if (s.scale === 'int') return s.min + rng.int(s.max - s.min + 1);
  if (s.scale === 'log') return Math.exp(rng.uniform(Math.log(s.min), Math.log(s.max)));
  return rng.uniform(s.min, s.max);
}

/** One random point of the space. */
export function randomPoint(space: ParamSpec[], rng: Rng): Point {
  return Object.fromEntries(space.map((s) => [s.key, drawValue(s, rng)]));
}

/** The same point, whatever the order of its keys. */
export function pointKey(p: Point): string {
  return JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]));
}

/** A copy of `config` with `key` (dotted) set to `value`; objects on the way are made where missing. */
export function setDotted(config: Record<string, unknown>, key: string, value: ParamValue): Record<string, unknown> {
  const parts = key.split('.');
  const root = structuredClone(config);
  let at: Record<string, unknown> = root;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (next === null || next === undefined) at[p] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new AppError('input', `--param ${key}: '${p}' is ${JSON.stringify(next)} in the base config, not an object with keys`);
    }
    at = at[p] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]] = value;
  return root;
}

/** The base config with every key of the point set. */
export function applyPoint(base: Record<string, unknown>, point: Point): Record<string, unknown> {
  let c = base;
  for (const [k, v] of Object.entries(point)) c = setDotted(c, k, v);
  return c;
}

/** How a value reads in a table: numbers short, the rest as JSON. */
export function showValue(v: ParamValue): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError } from '../api/errors';
import { resolveRunConfig, type RunConfig } from './run-config';

/** Reads a run-config JSON file; errors name the file (and the field, for bad values). */
export function readRunConfigFile(file: string): { raw: unknown; config: RunConfig; path: string } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new AppError(code === 'ENOENT' ? 'not-found' : 'io', `cannot read config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AppError('input', `${path}: not valid JSON (${(err as Error).message})`);
  }
  return { raw, config: resolveRunConfig(raw, path), path };
}

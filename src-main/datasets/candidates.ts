/**
 * What a source of files hands the scan (the folder walk, walk.ts; the CSV manifest, manifest.ts): candidate
 * image files with their class and split, and the issues met on the way (stored in `scan_issues`).
 */
import { sep } from 'node:path';
import type { Split } from './repository';
import type { SplitSource } from './snapshot';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

/** Split folder names (and a manifest's split cells), lower-cased, and the split each names. */
export const SPLIT_FOLDERS: Record<string, Split> = { train: 'train', training: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test', testing: 'test' };

export interface Candidate {
  rel: string;
  file: string;
  cls: string;
  split: Split | null;
  source: Exclude<SplitSource, 'auto'>;
}

export interface Issue {
  rel: string;
  kind: 'skipped' | 'dangling' | 'link' | 'manifest';
  reason: string;
}

/** A relative path with `/` separators, as the index stores it. */
export const posixRel = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

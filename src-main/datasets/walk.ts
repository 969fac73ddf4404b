/**
 * The folder walk of a scan: which layout a dataset folder has (class folders, or split folders holding class
 * folders), and the walk of its tree, folder by folder, into candidate files and issues (hidden entries, names
 * that are not UTF-8, symbolic links, files without an image extension).
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { cancelled } from '../core/errors';
import { IMAGE_EXTENSIONS, SPLIT_FOLDERS, type Candidate, type Issue } from './candidates';
import { KIND_BAD_NAME, KIND_FILE, KIND_FOLDER, KIND_LINK, KIND_OTHER } from './fast-walk';
import type { Split } from './repository';

/** 'splits' when every visible folder of the root is a split folder (train, val, test...), else 'folders'. */
export function detectLayout(root: string): 'folders' | 'splits' {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root, { withFileTypes: true })
      .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || (d.isSymbolicLink() && isDir(join(root, d.name)))))
      .map((d) => d.name.toLowerCase());
  } catch {
    return 'folders';
  }
  return dirs.length > 0 && dirs.every((d) => d in SPLIT_FOLDERS) ? 'splits' : 'folders';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The walk's kind of a directory entry or an lstat result. */
function kindOf(d: Pick<Dirent, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): number {
  return d.isFile() ? KIND_FILE : d.isDirectory() ? KIND_FOLDER : d.isSymbolicLink() ? KIND_LINK : KIND_OTHER;
}

/**
 * A folder's entries with their kinds, for when `readdirSync(dir, { withFileTypes: true })` failed on a readable
 * folder: where the file system reports no entry types, Node lstats every entry and fails the whole read if one
 * cannot be (gone since, a name that is not UTF-8, a folder that can be listed but not entered). Here such an
 * entry counts as a file, whose rules then report it, as the native diff does; undefined when the folder
 * cannot be listed at all.
 */
function readUntyped(dir: string, dirSep: string): [string, number][] | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  return names.map((name) => {
    let st: Stats | undefined;
    try {
      st = lstatSync(dirSep + name, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    return [name, st ? kindOf(st) : KIND_FILE];
  });
}

function within(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** The class and split every file of a folder gets, or why its files are skipped. */
export type FolderWhere = { cls: string; split: Split | null; source: Candidate['source'] } | string;

/**
 * The native diff of one folder against the scan snapshot (fast-walk.ts): [unchanged, name, kind, row, ...],
 * an errno code, or undefined to read the folder here.
 */
export type FolderDiff = (dir: string, prefix: string, where: FolderWhere) => (string | number)[] | string | undefined;

/**
 * Walks a class-folder or split-folder tree; yields the candidates of each folder (and, through `diff`, the
 * number of its files the native diff found unchanged) and records issues.
 * Synchronous directory reads (one call per folder): thread-pool round trips per folder cost more than they
 * save, and the caller yields to the event loop between chunks.
 */
export function* walkTree(root: string, layout: 'folders' | 'splits', issues: Issue[], signal?: AbortSignal, diff?: FolderDiff): Generator<Candidate[] | number> {
  const realRoot = realpathSync(root);
  const seenOutside = new Set<string>();
  // Every file of a folder shares its class and split: work them out once per folder, from its relative path.
  const folderClass = (prefix: string): FolderWhere => {
    const parts = prefix === '' ? [] : prefix.split('/');
    if (layout === 'splits') {
      const split = parts.length ? SPLIT_FOLDERS[parts[0].toLowerCase()] : undefined;
      if (!split || parts.length < 2) return 'not inside a <split>/<class> folder';
      return { cls: parts[1], split, source: 'folder' };
    }
    if (parts.length < 1) return 'not inside a class folder';
    return { cls: parts[0], split: null, source: 'pending' };
  };
  // Depth-first over directories: [absolute dir to read, relative path prefix].
  const stack: [string, string][] = [[root, '']];
  while (stack.length) {
    if (signal?.aborted) throw cancelled('scan');
    const [dir, prefix] = stack.pop()!;
    const where = folderClass(prefix);
    const fast = diff?.(dir, prefix, where);
    // Plain concatenation: `dir` is already absolute and normalised (path.join per file cost more than the stat).
    const dirSep = dir.endsWith(sep) ? dir : dir + sep;
    let entries: Dirent[] = [];
    let untyped: [string, number][] | undefined;
    try {
      if (typeof fast === 'string') throw Object.assign(new Error(fast), { code: fast });
      if (!fast) entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      untyped = fast === undefined ? readUntyped(dir, dirSep) : undefined;
      if (!untyped) {
        issues.push({ rel: prefix || '.', kind: 'skipped', reason: `cannot read folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
    }
    const relPrefix = prefix ? `${prefix}/` : '';
    const onFile = (rel: string, abs: string, name: string): Candidate | undefined => {
      const dot = name.lastIndexOf('.');
      const ext = dot > 0 ? name.slice(dot).toLowerCase() : '';
      if (!IMAGE_EXTENSIONS.has(ext)) {
        issues.push({ rel, kind: 'skipped', reason: ext ? `not an image extension (${ext})` : 'no image extension' });
        return undefined;
      }
      if (typeof where === 'string') {
        issues.push({ rel, kind: 'skipped', reason: where });
        return undefined;
      }
      return { rel, file: abs, cls: where.cls, split: where.split, source: where.source };
    };
    const subdirs: [string, string][] = [];
    const found: Candidate[] = [];
    const replaced = new Set<string>();
    const visit = (name: string, kind: number): void => {
      const rel = relPrefix + name;
      const abs = dirSep + name;
      // A name whose bytes are not UTF-8 reaches JavaScript with U+FFFD in place of them: no call can open it by
      // that name (or it opens another file, whose name has a real U+FFFD there and sorts first).
      const lossy = kind === KIND_BAD_NAME || name.includes('\uFFFD');
      if (lossy && (kind === KIND_BAD_NAME || replaced.has(name) || !lstatSync(abs, { throwIfNoEntry: false }))) {
        issues.push({ rel, kind: 'skipped', reason: 'name is not valid UTF-8 (it cannot be opened by name here): rename it to index it' });
        return;
      }
      if (lossy) replaced.add(name);
      if (name.charCodeAt(0) === 46 /* . */) {
        issues.push({ rel, kind: 'skipped', reason: kind === KIND_FOLDER ? 'hidden folder' : 'hidden file' });
        return;
      }
      if (kind === KIND_FILE) {
        const c = onFile(rel, abs, name);
        if (c) found.push(c);
      } else if (kind === KIND_FOLDER) {
        subdirs.push([abs, rel]);
      } else if (kind === KIND_LINK) {
        let target: string;
        try {
          target = realpathSync(abs);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ELOOP') issues.push({ rel, kind: 'link', reason: 'symbolic link loop: adds nothing' });
          else issues.push({ rel, kind: 'dangling', reason: `dangling symbolic link (${code ?? 'unresolved'})` });
          return;
        }
        if (within(realRoot, target)) {
          issues.push({ rel, kind: 'link', reason: 'symbolic link into the dataset folder: adds nothing' });
          return;
        }
        if (seenOutside.has(target)) {
          issues.push({ rel, kind: 'link', reason: 'symbolic link to something already walked: adds nothing' });
          return;
        }
        let st: Stats;
        try {
          st = statSync(abs);
        } catch (err) {
          issues.push({ rel, kind: 'dangling', reason: `dangling symbolic link (${(err as NodeJS.ErrnoException).code})` });
          return;
        }
        seenOutside.add(target);
        if (st.isDirectory()) subdirs.push([abs, rel]);
        else if (st.isFile()) {
          const c = onFile(rel, abs, name);
          if (c) found.push(c);
        } else issues.push({ rel, kind: 'skipped', reason: 'not a regular file' });
      } else {
        issues.push({ rel, kind: 'skipped', reason: 'not a regular file' });
      }
    };
    if (fast) {
      for (let i = 1; i < fast.length; i += 3) visit(fast[i] as string, fast[i + 1] as number);
      if ((fast[0] as number) > 0) yield fast[0] as number;
    } else if (untyped) for (const [name, kind] of untyped) visit(name, kind);
    else for (const d of entries) visit(d.name, kindOf(d));
    if (found.length) yield found;
    // Reverse so that the walk visits sub-folders in directory order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
}

/** Real faults for the data tests: read errors a test can cause whether or not it runs as root. */
import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;

/**
 * Makes `file` unreadable by a real read error until the returned function undoes it: EACCES by its mode when
 * that blocks this process; as root (whom modes do not stop) a folder takes its place, so opening it for reading
 * fails with EISDIR.
 */
export function makeUnreadable(file: string): () => void {
  if (!isRoot) {
    chmodSync(file, 0o000);
    return () => chmodSync(file, 0o644);
  }
  renameSync(file, `${file}.away`);
  mkdirSync(file);
  return () => {
    rmSync(file, { recursive: true });
    renameSync(`${file}.away`, file);
  };
}

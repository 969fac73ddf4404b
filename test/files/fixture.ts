/** A small indexed dataset for the tests of files the user names: 2 sample images per class, 10 classes. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { sampleSubset } from '../training/fixture';

export { call } from '../training/fixture';

/** Copies the sample subset into `dir/ds` and returns its path. */
export function smallDataset(dir: string, perClass = 2): string {
  return sampleSubset(join(dir, 'ds'), perClass);
}

/** `/etc/passwd`-like text: what a foreign file looks like, with markers a test can look for in any output. */
export function passwdLike(file: string): string[] {
  const lines = [
    'root:x:0:0:SECRET-root-line:/root:/bin/bash',
    'daemon:x:1:1:SECRET-daemon-line:/usr/sbin:/usr/sbin/nologin',
    'alice:$6$SECRETHASH$abcdef:19000:0:99999:7:::',
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return ['SECRET', 'root:x', 'daemon', 'alice'];
}

/** A FIFO (named pipe) with no writer: reading it blocks for ever. */
export function fifo(file: string): string {
  mkdirSync(join(file, '..'), { recursive: true });
  execFileSync('mkfifo', [file]);
  return file;
}

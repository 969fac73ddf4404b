/**
 * Paths the user gives to be read are checked as text before anything touches the file system (issue #11
 * item 13, input side; found by review): a NUL byte or an over-long name in `policy:import`'s file,
 * `datasets:index`'s root or manifest, or `models:predict`'s model folder and images is an 'input' error
 * naming the field (a 400 from serve, exit 2 from the CLI), never an errno surfacing as a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import { tempDir, tempServices, testContext } from '../helpers/temp';
import { call, sampleSubset } from '../training/fixture';

const services = tempServices();
const data = tempDir('mixup-input-paths-');
afterAll(() => {
  services.cleanup();
  data.cleanup();
});
beforeAll(async () => {
  sampleSubset(data.dir, 1);
  await call(services, 'datasets:index', { root: data.dir, name: 'ip' });
}, 60_000);

const run = (name: string, input: unknown) =>
  invokeOperation(operations, name, input, testContext(services).ctx).then(
    () => new Error(`${name} accepted a bad path`),
    (e: Error & { kind?: string }) => e,
  );
const NUL = '/tmp/a\u0000b';
const LONG = `/tmp/${'n'.repeat(300)}`;

describe('a path to read that is not a path', () => {
  it.each([
    ['policy:import', { dataset: 'ip', file: NUL }, /file: the path contains a NUL byte/],
    ['policy:import', { dataset: 'ip', file: LONG }, /file: a name in the path is longer than 255 bytes/],
    ['datasets:index', { root: data.dir, name: 'ip', manifest: NUL }, /manifest: the path contains a NUL byte/],
    ['datasets:index', { root: data.dir, name: 'ip', manifest: LONG }, /manifest: a name in the path is longer than 255 bytes/],
    ['datasets:index', { root: NUL, name: 'x' }, /root: the path contains a NUL byte/],
    ['datasets:index', { root: LONG, name: 'x' }, /root: a name in the path is longer than 255 bytes/],
    ['models:predict', { modelDir: NUL, images: ['/tmp/x.png'] }, /modelDir: the path contains a NUL byte/],
    ['models:predict', { modelDir: data.dir, images: [NUL] }, /images\.0: the path contains a NUL byte/],
  ])('%s %j is an input error naming the field', async (name, input, message) => {
    const err = (await run(name, input)) as Error & { kind?: string };
    expect(err.kind).toBe('input');
    expect(err.message).toMatch(message);
  });
});

/**
 * The backbone words of CLI.md through the built command (`npm run build`: onnxruntime-node loads from the
 * bundle as it will for a user): `backbone import|list|show|remove` and `embeddings`, their --json documents,
 * the progress on stderr, and a bad model refused with one stderr line naming the file (exit 2).
 */
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir } from '../helpers/temp';

const sample = join(resolve(__dirname, '..', '..'), 'resources', 'sample', 'fashion-mnist');

describe('mixup-studio backbone / embeddings', () => {
  let home: ReturnType<typeof tempDir>;
  let files: ReturnType<typeof tempDir>;
  const cli = (args: string[]) => runCli(args, { home: home.dir, built: true });

  beforeAll(async () => {
    home = tempDir('mixup-cli-home-');
    files = tempDir('mixup-cli-files-');
    for (const cls of ['bag', 'sandal']) {
      mkdirSync(join(files.dir, 'shop', cls), { recursive: true });
      for (const f of readdirSync(join(sample, cls)).slice(0, 5)) cpSync(join(sample, cls, f), join(files.dir, 'shop', cls, f));
    }
    writeTestBackbone(join(files.dir, 'net.onnx'), { channels: 1, size: [28, 28], dim: 16 });
    const r = await cli(['index', join(files.dir, 'shop'), '--name', 'shop', '--json']);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(() => {
    home?.cleanup();
    files?.cleanup();
  });

  it('imports, lists, shows, embeds (then from the cache) and removes, printing the CLI.md documents', async () => {
    const imp = await cli(['backbone', 'import', join(files.dir, 'net.onnx'), '--name', 'net', '--mean', '0.5', '--std', '0.5', '--resize', 'fill', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const b = imp.json().backbone;
    expect(Object.keys(b).sort()).toEqual(['featureSize', 'format', 'id', 'name', 'preprocessing', 'sha256']);
    expect(b.preprocessing).toEqual({ inputSize: [28, 28], channels: 1, scale: 1 / 255, mean: [0.5], std: [0.5], resize: 'fill', layout: 'NCHW' });

    const list = await cli(['backbone', 'list', '--json']);
    expect(list.json()).toEqual([{ id: b.id, name: 'net', format: 'onnx', featureSize: 16, createdAt: expect.any(String) }]);

    const emb = await cli(['embeddings', 'shop', '--backbone', 'net', '--batch', '3', '--json']);
    expect(emb.code, emb.stderr).toBe(0);
    const doc = emb.json();
    for (const k of ['dataset', 'backbone', 'images', 'computed', 'cached', 'dim', 'seconds']) expect(doc).toHaveProperty(k);
    expect(doc).toMatchObject({ dataset: 'shop', backbone: 'net', images: 10, computed: 10, cached: 0, dim: 16 });
    const again = await cli(['embeddings', 'shop', '--backbone', 'net']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^shop × net: 10 images, 0 computed, 10 cached, 16-d/);

    const show = await cli(['backbone', 'show', 'net']);
    expect(show.stdout).toContain('cache     10 embeddings');
    const rm = await cli(['backbone', 'remove', 'net']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout.trim()).toBe('removed backbone net and 10 cached embeddings');
    expect((await cli(['backbone', 'list', '--json'])).json()).toEqual([]);
  });

  it('refuses a file that is not a model: exit 2, one stderr line naming the file, nothing registered', async () => {
    const bad = join(files.dir, 'photo.onnx');
    writeFileSync(bad, Buffer.from('\x89PNG\r\n\x1a\n not really', 'latin1'));
    const r = await cli(['backbone', 'import', bad, '--name', 'photo']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`mixup-studio: backbone ${bad} is not an ONNX model onnxruntime can load: Protobuf parsing failed.`);
    const unknown = await cli(['embeddings', 'shop', '--backbone', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/backbone 'nope' is not imported \(none is: run `backbone import PATH --name NAME`\)/);
    expect((await cli(['backbone', 'list', '--json'])).json()).toEqual([]);
  });
});

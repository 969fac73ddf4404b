/**
 * Issue 13, the first part: ONNX backbones imported into the home (what the graph says is read, flags fill the
 * rest, a bad file refused with nothing left behind) and the embedding store (every usable image's vector,
 * computed once per content and backbone; the values are the backbone's own on the decoded, normalised pixels).
 * Real parts throughout: ONNX files written by the project's writer, onnxruntime-node, sharp, a SQLite home.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeOperation } from '../../src-main/api/contract';
import { operations } from '../../src-main/api/operations';
import type { OpInputOf, OpName, OpResult } from '../../src-main/api/types';
import { readEmbeddings } from '../../src-main/backbones/repository';
import { DataType, encodeModel } from '../../src-main/export/onnx/proto';
import { expectedFeature, expectedMap, writeTestBackbone } from '../helpers/onnx-backbone';
import { tempDir, tempServices, testContext } from '../helpers/temp';
import { undecodablePng } from '../training/fixture';

const root = resolve(__dirname, '..', '..');
const sample = join(root, 'resources', 'sample', 'fashion-mnist');

describe('backbones and the embedding store', () => {
  let services: ReturnType<typeof tempServices>;
  let files: ReturnType<typeof tempDir>;
  const call = <N extends OpName>(name: N, input: OpInputOf<N>) => {
    const { ctx, events } = testContext(services);
    return Object.assign(invokeOperation(operations, name, input, ctx) as Promise<OpResult<N>>, { events });
  };
  const errorOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err as Error & { kind: string };
    }
    throw new Error('expected the call to fail');
  };
  const backboneFiles = () => (existsSync(join(services.home, 'backbones')) ? readdirSync(join(services.home, 'backbones')) : []);

  beforeAll(async () => {
    services = tempServices();
    files = tempDir('mixup-backbone-files-');
    const data = join(files.dir, 'clothes');
    for (const cls of ['bag', 'coat', 'sandal']) {
      mkdirSync(join(data, cls), { recursive: true });
      for (const f of readdirSync(join(sample, cls)).slice(0, 6)) cpSync(join(sample, cls, f), join(data, cls, f));
    }
    // The same content twice: embedded once.
    cpSync(join(data, 'bag', readdirSync(join(data, 'bag'))[0]!), join(data, 'coat', 'copy-of-a-bag.png'));
    // A wide colour photo-like image: a centre crop and a fill differ on it.
    const first = join(data, 'coat', readdirSync(join(data, 'coat'))[0]!);
    await sharp(first).resize(56, 28, { fit: 'fill' }).toColourspace('srgb').tint({ r: 200, g: 90, b: 40 }).png().toFile(join(data, 'coat', 'wide.png'));
    await call('datasets:index', { root: data, name: 'clothes' });
  });

  afterAll(() => {
    services?.cleanup();
    files?.cleanup();
  });

  it('imports an ONNX file: input layout, channels and size read from the graph, the feature size from a probe run, the file copied under its sha256', async () => {
    const file = join(files.dir, 'tiny.onnx');
    writeTestBackbone(file, { channels: 3, size: [32, 32], layout: 'NCHW', dim: 8 });
    const r = await call('backbones:import', { path: file, name: 'tiny' });
    expect(r.backbone).toMatchObject({
      name: 'tiny',
      format: 'onnx',
      featureSize: 8,
      preprocessing: { inputSize: [32, 32], channels: 3, layout: 'NCHW', resize: 'center-crop', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    });
    expect(r.backbone.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(backboneFiles()).toEqual([`${r.backbone.sha256}.onnx`]);
    const list = await call('backbones:list', {});
    expect(list.map((b) => [b.name, b.format, b.featureSize])).toEqual([['tiny', 'onnx', 8]]);
    expect(Object.keys(list[0]!).sort()).toEqual(['createdAt', 'featureSize', 'format', 'id', 'name']);
    const shown = await call('backbones:show', { backbone: 'tiny' });
    expect(shown.embeddings).toEqual({ vectors: 0, bytes: 0 });
    expect(shown.source).toBe(file);
  });

  it('refuses what is not a usable backbone, naming the file and the problem, and registers nothing', async () => {
    const before = backboneFiles();
    const notModel = join(files.dir, 'notes.onnx');
    writeFileSync(notModel, 'these are my notes, not a model\n');
    let e = await errorOf(call('backbones:import', { path: notModel, name: 'notes' }));
    expect(e.kind).toBe('input');
    expect(e.message).toContain(notModel);
    expect(e.message).toMatch(/not an ONNX model/);

    const flat = join(files.dir, 'flat.onnx');
    writeFileSync(
      flat,
      encodeModel({
        irVersion: 8,
        opsetVersion: 18,
        producerName: 't',
        producerVersion: '0',
        graph: { name: 'flat', nodes: [{ opType: 'Identity', name: 'id', inputs: ['x'], outputs: ['y'] }], initializers: [], inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['batch', 12] }], outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['batch', 12] }] },
      }),
    );
    e = await errorOf(call('backbones:import', { path: flat, name: 'flat' }));
    expect(e.message).toMatch(new RegExp(`${flat.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: input 'x' has shape \\[batch, 12\\], not a 4-D image batch`));

    const dynamic = join(files.dir, 'dynamic.onnx');
    writeTestBackbone(dynamic, { size: null });
    e = await errorOf(call('backbones:import', { path: dynamic, name: 'dynamic' }));
    expect(e.message).toMatch(/^--input-size: .*dynamic\.onnx does not fix its input size/);

    const tiny = join(files.dir, 'tiny.onnx');
    e = await errorOf(call('backbones:import', { path: tiny, name: 'tiny-again', output: 'logits' }));
    expect(e.message).toBe(`--output: backbone ${tiny} has no output or inner tensor 'logits' (its outputs: features; an inner tensor is named by a node's output)`);
    e = await errorOf(call('backbones:import', { path: tiny, name: 'tiny-again', inputSize: [64, 64] }));
    expect(e.message).toBe(`--input-size: backbone ${tiny} takes 32,32, not 64,64`);
    e = await errorOf(call('backbones:import', { path: tiny, name: 'tiny' }));
    expect(e.kind).toBe('conflict');
    e = await errorOf(call('backbones:import', { path: join(files.dir, 'missing.onnx'), name: 'missing' }));
    expect(e.kind).toBe('not-found');

    expect((await call('backbones:list', {})).map((b) => b.name)).toEqual(['tiny']);
    expect(backboneFiles()).toEqual(before);
  });

  it('a dynamic-size model imports with --input-size; an NHWC graph and a 4-D feature map are read and pooled', async () => {
    const dynamic = join(files.dir, 'dynamic.onnx');
    const r = await call('backbones:import', { path: dynamic, name: 'dynamic', inputSize: [24, 24], resize: 'fill' });
    expect(r.backbone.preprocessing).toMatchObject({ inputSize: [24, 24], layout: 'NCHW', resize: 'fill' });
    const nhwc = join(files.dir, 'nhwc-map.onnx');
    writeTestBackbone(nhwc, { layout: 'NHWC', size: [28, 28], channels: 1, pool: false, dim: 5, batch: 1 });
    const m = await call('backbones:import', { path: nhwc, name: 'nhwc-map', mean: [0.5], std: [0.25] });
    expect(m.backbone).toMatchObject({ featureSize: 5, preprocessing: { layout: 'NHWC', channels: 1, inputSize: [28, 28], mean: [0.5], std: [0.25] } });
  });

  it("embeds every usable image once per content; the vectors are the backbone's on the decoded, normalised pixels; a second call computes nothing", async () => {
    const first = call('embeddings:compute', { dataset: 'clothes', backbone: 'tiny', batch: 4 });
    const r = await first;
    expect(r).toMatchObject({ dataset: 'clothes', backbone: 'tiny', images: 20, computed: 19, cached: 0, dim: 8, failed: [], provider: 'cpu' });
    const progress = first.events.filter((e) => e.topic === 'embed.progress').map((e) => (e.data as { done: number }).done);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(19);
    expect(progress.length).toBeGreaterThanOrEqual(6);

    const again = await call('embeddings:compute', { dataset: 'clothes', backbone: 'tiny' });
    expect(again).toMatchObject({ images: 20, computed: 0, cached: 19 });
    expect((await call('backbones:show', { backbone: 'tiny' })).embeddings).toEqual({ vectors: 19, bytes: 19 * 8 * 4 });

    // By hand: sharp's centre crop to 32×32 sRGB, (p/255 − mean)/std, relu(W·x + b) averaged over the pixels.
    const weights = writeTestBackbone(join(files.dir, 'tiny-check.onnx'), { channels: 3, size: [32, 32], layout: 'NCHW', dim: 8 });
    const rows = services.db.prepare("SELECT i.hash, i.rel_path FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'clothes' AND (i.rel_path LIKE 'bag/%' OR i.rel_path = 'coat/wide.png') ORDER BY i.rel_path DESC LIMIT 3").all() as { hash: string; rel_path: string }[];
    const bb = services.db.prepare("SELECT id FROM backbones WHERE name = 'tiny'").pluck().get() as number;
    const stored = new Map([...readEmbeddings(services.db, bb, rows.map((x) => x.hash))].map((v) => [v.hash, v.vector]));
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    for (const row of rows) {
      const raw = await sharp(join(files.dir, 'clothes', row.rel_path)).removeAlpha().resize(32, 32, { fit: 'cover', position: 'centre' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      expect(raw.info.channels).toBe(3);
      const x = Float32Array.from(raw.data, (v, i) => (v / 255 - mean[i % 3]!) / std[i % 3]!);
      const want = expectedFeature(weights, x);
      const got = stored.get(row.hash)!;
      expect(got, row.rel_path).toBeDefined();
      for (let d = 0; d < 8; d++) expect(got[d]).toBeCloseTo(want[d]!, 4);
    }
  });

  it('embeds with a fixed-batch NHWC backbone whose output is a feature map (pooled), grey input normalised by its mean/std', async () => {
    const r = await call('embeddings:compute', { dataset: 'clothes', backbone: 'nhwc-map' });
    expect(r).toMatchObject({ computed: 19, cached: 0, dim: 5, failed: [] });
    const weights = writeTestBackbone(join(files.dir, 'nhwc-check.onnx'), { layout: 'NHWC', size: [28, 28], channels: 1, pool: false, dim: 5, batch: 1 });
    const row = services.db.prepare("SELECT hash, rel_path FROM images ORDER BY rel_path LIMIT 1").get() as { hash: string; rel_path: string };
    const bb = services.db.prepare("SELECT id FROM backbones WHERE name = 'nhwc-map'").pluck().get() as number;
    const [got] = [...readEmbeddings(services.db, bb, [row.hash])];
    const raw = await sharp(join(files.dir, 'clothes', row.rel_path)).removeAlpha().resize(28, 28, { fit: 'cover', position: 'centre' }).greyscale().raw().toBuffer();
    const want = expectedFeature(weights, Float32Array.from(raw, (v) => (v / 255 - 0.5) / 0.25));
    for (let d = 0; d < 5; d++) expect(got!.vector[d]).toBeCloseTo(want[d]!, 4);
  });

  it('--output names an inner tensor: the copy is cut there (a classifier dropped), and its features are that tensor\'s, pooled', async () => {
    const tiny = join(files.dir, 'tiny.onnx');
    const r = await call('backbones:import', { path: tiny, name: 'tiny-cut', output: 'relu' });
    const whole = (await call('backbones:show', { backbone: 'tiny' })).sha256;
    // The relu map (N, 8, 32, 32), pooled: the same features as the whole graph's own pooling.
    expect(r.backbone).toMatchObject({ featureSize: 8 });
    expect(r.backbone.sha256).not.toBe(whole);
    expect((await call('embeddings:compute', { dataset: 'clothes', backbone: 'tiny-cut' })).computed).toBe(19);
    const ids = ['tiny', 'tiny-cut'].map((n) => services.db.prepare('SELECT id FROM backbones WHERE name = ?').pluck().get(n) as number);
    const hashes = services.db.prepare("SELECT DISTINCT hash FROM images WHERE status = 'ok'").pluck().all() as string[];
    const [a, b] = ids.map((id) => new Map([...readEmbeddings(services.db, id, hashes)].map((v) => [v.hash, v.vector])));
    for (const [hash, v] of a!) for (let d = 0; d < 8; d++) expect(b!.get(hash)![d]).toBeCloseTo(v[d]!, 4);
    await call('backbones:remove', { backbone: 'tiny-cut', force: false });
  });

  it('lays out a non-square input pixel by pixel, NCHW and NHWC alike, and a fixed batch of 4 gives the vectors of a free batch (partial last batch included)', async () => {
    // H 20 × W 28: an H/W swap, a row flip or a channel mix-up changes these position-sensitive features.
    const rows = services.db.prepare("SELECT hash, rel_path FROM images WHERE rel_path = 'coat/wide.png'").all() as { hash: string; rel_path: string }[];
    const raw = await sharp(join(files.dir, 'clothes', 'coat', 'wide.png')).removeAlpha().resize(28, 20, { fit: 'fill' }).toColourspace('srgb').raw().toBuffer();
    const x = Float32Array.from(raw, (v) => v / 255);
    const got: Record<string, Float32Array> = {};
    for (const [name, layout, batch] of [['flat-nchw', 'NCHW', null], ['flat-nhwc', 'NHWC', null], ['flat-b4', 'NCHW', 4]] as const) {
      const file = join(files.dir, `${name}.onnx`);
      const weights = writeTestBackbone(file, { channels: 3, size: [20, 28], layout, dim: 3, pool: 'flatten', batch, seed: 3 });
      const r = await call('backbones:import', { path: file, name, resize: 'fill', mean: [0], std: [1] });
      expect(r.backbone.featureSize).toBe(3 * 20 * 28);
      const e = await call('embeddings:compute', { dataset: 'clothes', backbone: name });
      expect(e.computed).toBe(19);
      const id = services.db.prepare('SELECT id FROM backbones WHERE name = ?').pluck().get(name) as number;
      got[name] = [...readEmbeddings(services.db, id, [rows[0]!.hash])][0]!.vector;
      const want = expectedMap(weights, x, 20, 28);
      for (let i = 0; i < want.length; i += 97) expect(got[name]![i], `${name}[${i}]`).toBeCloseTo(want[i]!, 4);
    }
    // Every content, fixed batch of 4 (19 = 4·4 + 3) against the free batch: the same vectors.
    const ids = ['flat-nchw', 'flat-b4'].map((n) => services.db.prepare('SELECT id FROM backbones WHERE name = ?').pluck().get(n) as number);
    const all = services.db.prepare("SELECT DISTINCT hash FROM images WHERE status = 'ok'").pluck().all() as string[];
    const [free, fixed] = ids.map((id) => new Map([...readEmbeddings(services.db, id, all)].map((v) => [v.hash, v.vector])));
    expect(fixed!.size).toBe(19);
    for (const [hash, v] of free!) expect(Array.from(fixed!.get(hash)!), hash).toEqual(Array.from(v));
    for (const n of ['flat-nchw', 'flat-nhwc', 'flat-b4']) await call('backbones:remove', { backbone: n, force: false });
  });

  it('marks content that does not decode corrupt in every file that holds it, reports a file gone or changed since the index without marking it, and goes on', async () => {
    const dir = join(files.dir, 'clothes');
    // Content the scan accepts (whole chunks, CRCs) that does not decode, in two files: one content, both corrupt.
    const bag = readdirSync(join(dir, 'bag')).sort()[1]!;
    undecodablePng(join(dir, 'bag', bag), join(dir, 'bag', 'zz-undecodable.png'));
    cpSync(join(dir, 'bag', 'zz-undecodable.png'), join(dir, 'sandal', 'zz-undecodable-twin.png'));
    await call('datasets:index', { root: dir, name: 'clothes' });
    const status = (rel: string) => services.db.prepare('SELECT status FROM images WHERE rel_path = ?').pluck().get(rel);
    expect(status('bag/zz-undecodable.png')).toBe('ok');
    // After the index: one file deleted, one edited.
    const sandals = readdirSync(join(dir, 'sandal')).filter((f) => !f.startsWith('zz')).sort();
    const gone = `sandal/${sandals[0]}`;
    const edited = `sandal/${sandals[1]}`;
    rmSync(join(dir, gone));
    const whole = readFileSync(join(dir, edited));
    writeFileSync(join(dir, edited), whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await call('embeddings:compute', { dataset: 'clothes', backbone: 'dynamic' });
    // 22 files, 20 contents: all but the undecodable one, the gone one and the edited one.
    expect(r).toMatchObject({ images: 22, computed: 17, cached: 0 });
    expect(r.failed.map((f) => f.path).sort()).toEqual(['bag/zz-undecodable.png', edited, gone, 'sandal/zz-undecodable-twin.png'].sort());
    expect(r.failed.find((f) => f.path === edited)!.reason).toMatch(/changed since the dataset was indexed/);
    expect(status('bag/zz-undecodable.png')).toBe('corrupt');
    expect(status('sandal/zz-undecodable-twin.png')).toBe('corrupt');
    expect(status(gone)).toBe('ok');
    expect(status(edited)).toBe('ok');
    // The next call leaves the corrupt ones out and tries the other two again.
    expect(await call('embeddings:compute', { dataset: 'clothes', backbone: 'dynamic' })).toMatchObject({ images: 20, computed: 0, cached: 17 });
    // A rescan sees the deletion and the edit (cut short, the scan finds it corrupt): nothing left to report.
    await call('datasets:index', { root: dir, name: 'clothes' });
    expect(await call('embeddings:compute', { dataset: 'clothes', backbone: 'dynamic' })).toMatchObject({ images: 18, computed: 0, cached: 17, failed: [] });
  });

  it('removes a backbone with its cached embeddings and its copy; refused while a run names it, unless forced', async () => {
    const shown = await call('backbones:show', { backbone: 'dynamic' });
    services.db
      .prepare("INSERT INTO runs (dataset_name, status, config, epochs_planned) VALUES ('clothes', 'completed', ?, 1)")
      .run(JSON.stringify({ model: { backbone: 'dynamic' } }));
    const e = await errorOf(call('backbones:remove', { backbone: 'dynamic', force: false }));
    expect(e.kind).toBe('conflict');
    expect(e.message).toMatch(/backbone 'dynamic' is named by run \d+; pass --force/);
    const r = await call('backbones:remove', { backbone: 'dynamic', force: true });
    expect(r).toEqual({ removed: 'dynamic', embeddings: 17, fileRemoved: true });
    expect(backboneFiles()).not.toContain(shown.file.split('/').pop());
    expect(services.db.prepare('SELECT count(*) FROM embeddings WHERE backbone_id = ?').pluck().get(shown.id)).toBe(0);
    expect((await errorOf(call('backbones:show', { backbone: 'dynamic' }))).message).toMatch(/backbone 'dynamic' is not imported \(imported: nhwc-map, tiny\)/);
  });
});

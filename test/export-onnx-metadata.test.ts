/**
 * The cheap ONNX metadata reader (src/export/onnx-metadata.ts: the top level of the protobuf only)
 * against onnx-proto's whole decode, its errors, and OnnxFuser.load on it: the worker path and the
 * in-thread path give the same config, the same pixels and the same errors, and the worker path
 * leaves onnxruntime-node off the main thread (docs/onnx-export.md, cold start).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import { InputError } from '../src/errors.js';
import { buildOnnxModel, ONNX_CONFIG_KEY, ONNX_SIG_KEY } from '../src/export/export.js';
import { readOnnxConfig, readOnnxMetadataProps } from '../src/export/onnx-metadata.js';
import { OnnxFuser } from '../src/export/onnx-fuse.js';
import { readOnnxMetadata } from '../src/export/onnx-writer.js';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { CONFIG_KEY, TesgModel } from '../src/model/model.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import { SIG_KEY } from '../src/training/checkpoint.js';
import { GraphBuilder } from './helpers/onnx-builder.js';
import { TINY } from './helpers/model-fixtures.js';

const { onnx } = onnxProto;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHIPPED = path.join(ROOT, 'weights', 'tesg.onnx');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-onnx-meta-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const notOnnx = (file: string) => (e: unknown) => e instanceof InputError && e.file === file && /not an ONNX model file/.test(e.message);
const cannotRead = (file: string, code: string) => (e: unknown) => e instanceof InputError && e.file === file && e.message.includes(`cannot read the ONNX model (${code})`);
const noConfig = (file: string) => (e: unknown) => e instanceof InputError && e.file === file && /no 'tesg_config' metadata/.test(e.message);

test('the metadata keys are the weights file keys', () => {
  assert.equal(ONNX_CONFIG_KEY, CONFIG_KEY);
  assert.equal(ONNX_SIG_KEY, SIG_KEY);
});

test('readOnnxMetadataProps = the whole decode: shipped model, an export with a SIG record, hand-made field orders', async () => {
  assert.deepEqual(await readOnnxMetadataProps(SHIPPED), readOnnxMetadata(readFileSync(SHIPPED)));
  assert.ok((await readOnnxMetadataProps(SHIPPED))[ONNX_CONFIG_KEY]);

  const model = TesgModel.create(TINY, 3);
  const sig = JSON.stringify({ header: { masker: 'detector-v2' }, note: 'ünïcödé ✓ "quoted"' });
  const built = path.join(tmp, 'built.onnx');
  writeFileSync(built, buildOnnxModel(model.config, await model.params.toArrays(), {}, { [ONNX_SIG_KEY]: sig, extra: '' }).bytes);
  model.dispose();
  const meta = await readOnnxMetadataProps(built);
  assert.deepEqual(meta, readOnnxMetadata(readFileSync(built)));
  assert.equal(meta[ONNX_SIG_KEY], sig);
  assert.deepEqual(await readOnnxConfig(built), model.config);

  // metadata_props before the graph, a duplicate key (the later wins), an empty key (skipped), a long
  // value (past the reader's first chunk), varint fields around them.
  const graph = onnx.ModelProto.decode(new GraphBuilder().input('x', 'float32', [1]).output('x', 'float32', [1]).toBytes()).graph;
  const long = 'v'.repeat(10_000);
  const parts = [
    onnx.ModelProto.encode({ irVersion: 7, metadataProps: [{ key: 'a', value: '1' }, { key: '', value: 'skipped' }] }).finish(),
    onnx.ModelProto.encode({ graph, modelVersion: 2 ** 40 }).finish(),
    onnx.ModelProto.encode({ metadataProps: [{ key: 'a', value: '2' }, { key: 'long', value: long }], producerName: 'test' }).finish(),
  ];
  const mixed = path.join(tmp, 'mixed.onnx');
  writeFileSync(mixed, Buffer.concat(parts));
  const got = await readOnnxMetadataProps(mixed);
  assert.deepEqual(got, readOnnxMetadata(readFileSync(mixed)));
  assert.deepEqual(got, { a: '2', long });
});

test('readOnnxMetadataProps errors: missing, a folder, not protobuf, truncated, no graph', async () => {
  const missing = path.join(tmp, 'none.onnx');
  await assert.rejects(readOnnxMetadataProps(missing), cannotRead(missing, 'ENOENT'));
  await assert.rejects(readOnnxMetadataProps(tmp), cannotRead(tmp, 'EISDIR'));
  const png = path.join(ROOT, 'samples', 'msrs', 'ir', '01102N.png');
  await assert.rejects(readOnnxMetadataProps(png), notOnnx(png));
  const bytes = readFileSync(SHIPPED);
  const truncated = path.join(tmp, 'truncated.onnx');
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(readOnnxMetadataProps(truncated), notOnnx(truncated));
  const empty = path.join(tmp, 'empty.onnx');
  writeFileSync(empty, new Uint8Array(0));
  await assert.rejects(readOnnxMetadataProps(empty), notOnnx(empty));
  const noGraph = path.join(tmp, 'no-graph.onnx');
  writeFileSync(noGraph, onnx.ModelProto.encode({ irVersion: 8, metadataProps: [{ key: ONNX_CONFIG_KEY, value: '{}' }] }).finish());
  await assert.rejects(readOnnxMetadataProps(noGraph), notOnnx(noGraph));
});

test('OnnxFuser.load, worker and in-thread: same config, identical pixels, same errors', async () => {
  const [w, h] = [64, 48];
  const cropTo = (img: Image8): Image8 => {
    const data = new Uint8Array(w * h * img.channels);
    for (let r = 0; r < h; r++) data.set(img.data.subarray(((r + 200) * img.width + 300) * img.channels, ((r + 200) * img.width + 300 + w) * img.channels), r * w * img.channels);
    return { width: w, height: h, channels: img.channels, data };
  };
  const ir = cropTo(await readImage(path.join(ROOT, 'samples', 'msrs', 'ir', '01102N.png')));
  const vi = cropTo(await readImage(path.join(ROOT, 'samples', 'msrs', 'vi', '01102N.png')));
  const mask = { width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => (i % w > 20 && i % w < 40 ? 1 : 0)) };
  const [inThread, onWorker] = await Promise.all([OnnxFuser.load(SHIPPED, { threads: 1 }), OnnxFuser.load(SHIPPED, { threads: 1, worker: true })]);
  try {
    assert.deepEqual(onWorker.config, inThread.config);
    const input = { ir, vi, mask, embedding: new LexiconEncoder().encodeSync('a person on a night road'), textEncoderId: inThread.config.text_encoder };
    const [a, b] = await Promise.all([inThread.predict(input), onWorker.predict(input)]);
    assert.deepEqual(Buffer.from(b.data), Buffer.from(a.data));
  } finally {
    await Promise.all([inThread.release(), onWorker.release()]);
  }

  const missing = path.join(tmp, 'none.onnx');
  const bare = path.join(tmp, 'bare.onnx'); // a valid ONNX model without the tesg config
  const g = new GraphBuilder().input('x', 'float32', [1]).output('y', 'float32', [1]);
  g.node('Identity', ['x'], {}, ['y']);
  g.write(bare);
  for (const worker of [false, true]) {
    await assert.rejects(OnnxFuser.load(missing, { worker }), cannotRead(missing, 'ENOENT'), `worker ${worker}`);
    await assert.rejects(OnnxFuser.load(bare, { worker }), noConfig(bare), `worker ${worker}`);
  }
  // A worker that loaded a session for a file whose config failed is released: were it not, this
  // test file would never end (a pending request keeps the process alive).
});

test('OnnxFuser.load with a worker: onnxruntime-node and onnx-proto stay off the main thread', async () => {
  const script = `
    import { createRequire } from 'node:module';
    const { OnnxFuser } = await import(${JSON.stringify(path.join(ROOT, 'src', 'export', 'onnx-fuse.ts'))});
    const fuser = await OnnxFuser.load(${JSON.stringify(SHIPPED)}, { threads: 1, worker: true });
    const out = await fuser.runPlanar({ width: 8, height: 8, ir: new Float32Array(64), vi: new Float32Array(192), mask: new Float32Array(64),
      text: new Float32Array(fuser.config.text_tokens * fuser.config.text_dim) });
    await fuser.release();
    const cjs = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({ outputs: out.length, cjs: cjs.filter((k) => /onnxruntime|onnx-proto|protobufjs/.test(k)) }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { outputs: number; cjs: string[] };
  assert.ok(r.outputs >= 64, 'the network ran on the worker');
  assert.deepEqual(r.cjs, [], 'CommonJS modules the main thread loaded');
});

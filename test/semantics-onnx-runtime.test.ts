/**
 * The onnxruntime wrapper (src/runtime/onnx.ts) on graphs written here, and the provider factory.
 * Half-precision bit patterns are IEEE 754 binary16 values (e.g. 1.0 = 0x3c00, 0.1 = 0x2e66,
 * the largest finite 65504 = 0x7bff, the smallest subnormal 2^-24 = 0x0001).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { float16ToFloat32, float32ToFloat16, OnnxModel } from '../src/runtime/onnx.js';
import { loadOnnxProviders } from '../src/semantics/onnx-providers.js';
import { GraphBuilder } from './helpers/onnx-builder.js';
import { writeTinyCaptioner } from './fixtures/onnx/tiny-captioner.js';
import { writeTinySd } from './fixtures/onnx/tiny-sd.js';

const root = mkdtempSync(join(tmpdir(), 'tesg-ort-'));
after(() => rmSync(root, { recursive: true, force: true }));

function echoModel(): string {
  const g = new GraphBuilder();
  g.input('ids', 'int64', ['batch', 3]).input('x', 'float16', [2]).input('flag', 'bool', [1]).input('t', 'float32', []);
  g.node('Mul', ['ids', g.constant([1], [2], 'int64')], {}, ['ids2']);
  g.node('Cast', ['x'], { to: 1 }, ['x32']);
  g.node('Identity', ['x'], {}, ['x16']);
  g.node('Not', ['flag'], {}, ['notflag']);
  g.node('Identity', ['t'], {}, ['t_out']);
  g.output('ids2', 'int64', ['batch', 3]).output('x32', 'float32', [2]).output('x16', 'float16', [2]).output('notflag', 'bool', [1]).output('t_out', 'float32', []);
  return g.write(join(root, 'echo.onnx'));
}

test('metadata: names, element types and shapes (symbolic dims as strings) come from the session', async () => {
  const m = await OnnxModel.load(echoModel());
  assert.deepEqual(m.inputs, [
    { name: 'ids', type: 'int64', shape: ['batch', 3] },
    { name: 'x', type: 'float16', shape: [2] },
    { name: 'flag', type: 'bool', shape: [1] },
    { name: 't', type: 'float32', shape: [] },
  ]);
  assert.deepEqual(m.outputs.map((o) => o.name), ['ids2', 'x32', 'x16', 'notflag', 't_out']);
});

test('feeds are converted to the declared element types and outputs back to plain arrays', async () => {
  const m = await OnnxModel.load(echoModel());
  const out = await m.run({
    ids: { dims: [2, 3], data: [1, 2, 3, 4, 5, 2 ** 40] },
    x: { dims: [2], data: [0.1, -2] },
    flag: { dims: [1], data: [true] },
    t: { dims: [], data: [7.5] },
  });
  assert.deepEqual(Array.from(out.ids2.data), [2, 4, 6, 8, 10, 2 ** 41]); // int64 exact above 2^32
  assert.deepEqual(out.ids2.dims, [2, 3]);
  assert.ok(Math.abs(out.x32.data[0] - 0.0999755859375) < 1e-12); // 0x2e66
  assert.equal(out.x32.data[1], -2);
  assert.deepEqual(Array.from(out.x16.data), Array.from(out.x32.data));
  assert.deepEqual(Array.from(out.notflag.data), [0]);
  assert.deepEqual(out.t_out.dims, []);
  assert.equal(out.t_out.data[0], 7.5);
});

test('missing inputs and unknown feeds are named; a missing or corrupt file is an InputError naming it', async () => {
  const file = echoModel();
  const m = await OnnxModel.load(file);
  await assert.rejects(m.run({ ids: { dims: [1, 3], data: [1, 2, 3] } }), (e: Error) => e.name === 'InputError' && e.message.startsWith(file) && e.message.includes('missing inputs: x, flag, t'));
  const all = { ids: { dims: [1, 3], data: [1, 2, 3] }, x: { dims: [2], data: [0, 0] }, flag: { dims: [1], data: [0] }, t: { dims: [], data: [0] } };
  await assert.rejects(m.run({ ...all, extra: { dims: [1], data: [0] } }), /model has no input extra/);
  assert.throws(() => m.requireInputs('ids', 'sample'), /model has no input 'sample' \(its inputs: ids, x, flag, t\)/);
  const absent = join(root, 'nope.onnx');
  await assert.rejects(OnnxModel.load(absent), (e: Error) => e.name === 'InputError' && e.message === `${absent}: model file not found`);
  const corrupt = join(root, 'corrupt.onnx');
  writeFileSync(corrupt, 'not a protobuf');
  await assert.rejects(OnnxModel.load(corrupt), (e: Error) => e.name === 'InputError' && e.message.startsWith(`${corrupt}: not a loadable ONNX model`));
});

test('float16 conversion: exact IEEE bit patterns, rounding and range', () => {
  const bits = float32ToFloat16(Float32Array.from([1, -2, 0.1, 65504, 70000, 2 ** -24, 1e-9, Infinity, 0.5 + 2 ** -12]));
  assert.deepEqual(Array.from(bits), [0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x7c00, 0x3800]); // last: tie to even
  assert.deepEqual(Array.from(float16ToFloat32(Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7c00]))), [1, -2, 2 ** -24, Infinity]);
  assert.ok(Number.isNaN(float16ToFloat32(float32ToFloat16(Float32Array.from([NaN])))[0]));
});

test('provider factory: one SD folder gives the mask provider and F_t sharing one text encoder; a caption folder the captioner', async () => {
  const sdDir = writeTinySd(join(root, 'sd-v1'), { latentH: 4, latentW: 8 });
  const capDir = writeTinyCaptioner(join(root, 'blip'), { layout: 'blip' });
  const p = await loadOnnxProviders({ diffusion: sdDir, captioner: capDir, mask: { draws: 2, longSide: 64 }, caption: { search: 'greedy' }, threads: 1 });
  assert.equal(p.textEncoder?.id, `sd-onnx:${basename(sdDir)}:77x4`);
  assert.equal(p.mask?.name, 'sd-onnx-noise-difference');
  assert.equal((p.mask as unknown as { textEncoder: unknown }).textEncoder, p.textEncoder);
  assert.equal(p.caption?.name, 'onnx-caption:greedy');
  const img = { width: 64, height: 32, channels: 3 as const, data: new Uint8Array(64 * 32 * 3) };
  assert.equal(await p.caption!.caption(img), 'road');
  const m = await p.mask!.masks({ vi: img, ir: img, caption: 'a car', captionWithout: 'a', keywords: ['car'] });
  assert.equal(m.vis.data.length, 64 * 32);
  await p.release();
  const none = await loadOnnxProviders({});
  assert.equal(none.mask, undefined);
  assert.equal(none.caption, undefined);
});

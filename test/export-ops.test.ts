/**
 * Every Ops method, exported to ONNX and run on onnxruntime, against the tfjs ops on tfjs-cpu on
 * random inputs (odd sizes, dynamic height/width): max abs difference < 1e-4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import type { NamedArray } from '../src/model/params.js';
import { permute, sliceValues } from '../src/model/ops-onnx.js';
import { randomFloats } from './helpers/model-fixtures.js';
import { maxAbsDiff, runOnnx, runTfjs, type OpsFn, type ParityInput } from './helpers/export-parity.js';

await tf.setBackend('cpu');

const [H, W] = [7, 5];
let seed = 100;
const map = (c: number, scale = 1): ParityInput => ({ kind: 'map', shape: [1, H, W, c], data: randomFloats(H * W * c, seed++, scale) });
const tokens = (t: number, d: number): ParityInput => ({ kind: 'tokens', shape: [1, t, d], data: randomFloats(t * d, seed++) });
const weight = (shape: number[], scale = 0.5): NamedArray => ({ shape, data: randomFloats(shape.reduce((a, b) => a * b, 1), seed++, scale) });
const positive = (shape: number[]): NamedArray => ({ shape, data: Float32Array.from(weight(shape).data, (v) => 1 + v) });
const uni = { kind: 'uniform', fanIn: 1 } as const;

async function parity(label: string, fn: OpsFn, inputs: ParityInput[], weights: Record<string, NamedArray> = {}, tol = 1e-4): Promise<number> {
  const w = new Map(Object.entries(weights));
  const ref = runTfjs(fn, inputs, w);
  const got = await runOnnx(fn, inputs, w);
  assert.deepEqual(got.shape, ref.shape, `${label}: shape`);
  const d = maxAbsDiff(got.data, ref.data);
  assert.ok(d < tol, `${label}: max abs diff ${d}`);
  // Not a constant output (a broken op returning zeros on both sides would pass the difference).
  assert.ok(Math.max(...ref.data) - Math.min(...ref.data) > 1e-3, `${label}: output is constant`);
  return d;
}

test('conv2d 3x3 pad 1 with bias, 1x1 pad 0 without, 3x3 pad 0 (shrinks)', async () => {
  const ws = { w3: weight([3, 3, 4, 6]), b3: weight([6]), w1: weight([1, 1, 4, 3]) };
  await parity('conv3x3', (ops, [x]) => ops.conv2d(x, ops.param('w3', [3, 3, 4, 6], uni), ops.param('b3', [6], uni), 1), [map(4)], ws);
  await parity('conv1x1', (ops, [x]) => ops.conv2d(x, ops.param('w1', [1, 1, 4, 3], uni), null, 0), [map(4)], ws);
  await parity('conv3x3 valid', (ops, [x]) => ops.conv2d(x, ops.param('w3', [3, 3, 4, 6], uni), null, 0), [map(4)], ws);
});

test('depthwise conv 3x3 with and without bias', async () => {
  const ws = { dw: weight([3, 3, 5, 1]), b: weight([5]) };
  await parity('dw bias', (ops, [x]) => ops.depthwiseConv2d(x, ops.param('dw', [3, 3, 5, 1], uni), ops.param('b', [5], uni), 1), [map(5)], ws);
  await parity('dw', (ops, [x]) => ops.depthwiseConv2d(x, ops.param('dw', [3, 3, 5, 1], uni), null, 1), [map(5)], ws);
});

test('add, sub, mul: same shape, one-channel mask broadcast, scalar constants', async () => {
  await parity('add', (ops, [a, b]) => ops.add(a, b), [map(3), map(3)]);
  await parity('sub mask', (ops, [a, m]) => ops.sub(a, m), [map(3), map(1)]);
  await parity('mul mask', (ops, [m, a]) => ops.mul(m, a), [map(1), map(4)]);
  await parity('1 - m', (ops, [m]) => ops.mul(ops.sub(ops.constant(1), m), ops.constant(2.5)), [map(1)]);
  await parity('scalar fold', (ops, [a]) => ops.add(a, ops.mul(ops.constant(3), ops.constant(0.25))), [map(2)]);
});

test('sigmoid, relu, exact GELU', async () => {
  await parity('sigmoid', (ops, [x]) => ops.sigmoid(x), [map(3, 4)]);
  await parity('relu', (ops, [x]) => ops.relu(x), [map(3)]);
  await parity('gelu', (ops, [x]) => ops.gelu(x), [map(3, 4)]);
});

test('per-pixel LayerNorm over channels: WithBias and BiasFree, both ONNX forms', async () => {
  const ws = { g: positive([6]), b: weight([6]) };
  const withBias: OpsFn = (ops, [x]) => ops.layerNorm(x, ops.param('g', [6], uni), ops.param('b', [6], uni));
  const biasFree: OpsFn = (ops, [x]) => ops.layerNorm(x, ops.param('g', [6], uni), null);
  const x = map(6, 3);
  await parity('ln with bias', withBias, [x], ws);
  await parity('ln bias free', biasFree, [x], ws);
  const w = new Map(Object.entries(ws));
  const ref = runTfjs(withBias, [x], w);
  const viaTranspose = await runOnnx(withBias, [x], w, { channelNorm: 'transpose' });
  assert.ok(maxAbsDiff(viaTranspose.data, ref.data) < 1e-4);
});

test('LayerNorm over tokens, linear with and without bias', async () => {
  const ws = { g: positive([10]), b: weight([10]), w: weight([10, 4]), wb: weight([4]) };
  await parity('ln tokens', (ops, [t]) => ops.layerNormTokens(t, ops.param('g', [10], uni), ops.param('b', [10], uni)), [tokens(9, 10)], ws);
  await parity('ln tokens bias free', (ops, [t]) => ops.layerNormTokens(t, ops.param('g', [10], uni), null), [tokens(9, 10)], ws);
  await parity('linear', (ops, [t]) => ops.linear(t, ops.param('w', [10, 4], uni), ops.param('wb', [4], uni)), [tokens(9, 10)], ws);
  await parity('linear no bias', (ops, [t]) => ops.linear(t, ops.param('w', [10, 4], uni), null), [tokens(9, 10)], ws);
});

test('concatChannels; sliceAxis of parameters (folded at export) and of a feature map (a Slice node)', async () => {
  await parity('concat', (ops, [a, b]) => ops.concatChannels([a, b]), [map(2), map(3)]);
  const ws = { w: weight([1, 1, 4, 9]), b: weight([9]), dw: weight([3, 3, 9, 1]) };
  await parity(
    'sliced weights',
    (ops, [x]) => {
      const w = ops.param('w', [1, 1, 4, 9], uni);
      const y = ops.conv2d(x, ops.sliceAxis(w, 3, 3, 3), ops.sliceAxis(ops.param('b', [9], uni), 0, 3, 3), 0);
      return ops.depthwiseConv2d(y, ops.sliceAxis(ops.param('dw', [3, 3, 9, 1], uni), 2, 6, 3), null, 1);
    },
    [map(4)],
    ws,
  );
  await parity('slice map channels', (ops, [x]) => ops.sliceAxis(x, 3, 1, 2), [map(4)]);
  await parity('slice map rows', (ops, [x]) => ops.sliceAxis(x, 1, 2, 3), [map(2)]);
});

test('channel attention (1 and 2 heads) and token attention (1 and 2 heads)', async () => {
  const ws = { t1: positive([1]), t2: { shape: [2], data: Float32Array.of(0.7, 2.5) } };
  for (const heads of [1, 2]) {
    const t = heads === 1 ? 't1' : 't2';
    await parity(`channel attn ${heads}`, (ops, [q, k, v]) => ops.channelAttention(q, k, v, ops.param(t, [heads], uni), heads), [map(6), map(6), map(6)], ws);
    await parity(`token attn ${heads}`, (ops, [q, k, v]) => ops.tokenAttention(q, k, v, heads), [map(6, 2), tokens(11, 6), tokens(11, 6)]);
  }
});

test('export-time helpers: permute and sliceValues by hand', () => {
  // [2, 3] -> transpose -> [3, 2]
  assert.deepEqual([...permute(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 0])], [1, 4, 2, 5, 3, 6]);
  // [kh=1, kw=2, in=1, out=2] -> [out, in, kh, kw]
  assert.deepEqual([...permute(Float32Array.of(1, 2, 3, 4), [1, 2, 1, 2], [3, 2, 0, 1])], [1, 3, 2, 4]);
  assert.deepEqual([...sliceValues(Float32Array.of(0, 1, 2, 3, 4, 5), [2, 3], 1, 1, 2)], [1, 2, 4, 5]);
});

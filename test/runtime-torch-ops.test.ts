/**
 * The libtorch backend's ops (native/, src/model/ops-torch.ts) against the tfjs ops on tfjs-cpu:
 * values and input gradients of every op of src/model/ops.ts on random inputs, the fusion losses
 * and their gradient, and AdamW bit for bit against src/training/adamw.ts. Skipped, with the reason,
 * where the addon is not built (it needs Debian's libtorch-dev).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import { initBackend } from '../src/runtime/backend.js';
import { TfOps } from '../src/model/ops-tfjs.js';
import { ParamStore } from '../src/model/params.js';
import type { Ops } from '../src/model/ops.js';
import { TorchOps, TorchParamStore } from '../src/model/ops-torch.js';
import type { TorchAddon, TorchTensor } from '../src/runtime/torch.js';
import { loadTorch, torchUnavailableReason } from '../src/runtime/torch.js';
import { fusionLoss } from '../src/training/losses.js';
import { AdamW } from '../src/training/adamw.js';
import { adamwConstants } from '../src/training/adamw.js';
import { lcg, randomFloats } from './helpers/model-fixtures.js';

const skip = torchUnavailableReason() ?? false;
await initBackend('cpu');
const torch: TorchAddon | null = skip ? null : loadTorch();

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** max |a - b| / max(max |b|, 1e-3). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let m = 1e-3;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

interface OpCase {
  name: string;
  shapes: number[][];
  /** Inputs that are 0/1 masks (no gradient compared) or positive values. */
  kinds?: ('mask' | 'pos' | 'rand')[];
  fn: <T>(ops: Ops<T>, xs: T[]) => T;
}

const CASES: OpCase[] = [
  { name: 'conv2d 3x3 + bias', shapes: [[2, 7, 9, 5], [3, 3, 5, 6], [6]], fn: (o, [x, w, b]) => o.conv2d(x, w, b, 1) },
  { name: 'conv2d 3x3, 1 input channel', shapes: [[2, 6, 5, 1], [3, 3, 1, 4]], fn: (o, [x, w]) => o.conv2d(x, w, null, 1) },
  { name: 'conv2d 1x1 + bias', shapes: [[2, 7, 9, 5], [1, 1, 5, 3], [3]], fn: (o, [x, w, b]) => o.conv2d(x, w, b, 0) },
  { name: 'conv2d 1x1 to 1 channel', shapes: [[2, 4, 4, 6], [1, 1, 6, 1]], fn: (o, [x, w]) => o.conv2d(x, w, null, 0) },
  { name: 'depthwise 3x3', shapes: [[2, 7, 9, 6], [3, 3, 6, 1]], fn: (o, [x, w]) => o.depthwiseConv2d(x, w, null, 1) },
  { name: 'depthwise 3x3 + bias', shapes: [[1, 5, 6, 4], [3, 3, 4, 1], [4]], fn: (o, [x, w, b]) => o.depthwiseConv2d(x, w, b, 1) },
  { name: 'add, broadcast mask', shapes: [[2, 4, 5, 3], [2, 4, 5, 1]], fn: (o, [a, b]) => o.add(a, b) },
  { name: 'sub from a constant', shapes: [[2, 4, 5, 3]], fn: (o, [a]) => o.sub(o.constant(1), a) },
  { name: 'mul by a mask', shapes: [[2, 4, 5, 3], [2, 4, 5, 1]], kinds: ['rand', 'mask'], fn: (o, [a, m]) => o.mul(a, m) },
  { name: 'mul', shapes: [[2, 4, 5, 3], [2, 4, 5, 3]], fn: (o, [a, b]) => o.mul(a, b) },
  { name: 'sigmoid', shapes: [[2, 4, 5, 3]], fn: (o, [a]) => o.sigmoid(a) },
  { name: 'relu', shapes: [[2, 4, 5, 3]], fn: (o, [a]) => o.relu(a) },
  { name: 'gelu (erf)', shapes: [[2, 4, 5, 3]], fn: (o, [a]) => o.gelu(a) },
  { name: 'layerNorm with bias', shapes: [[2, 4, 5, 6], [6], [6]], fn: (o, [x, w, b]) => o.layerNorm(x, w, b) },
  { name: 'layerNorm bias-free', shapes: [[2, 4, 5, 6], [6]], fn: (o, [x, w]) => o.layerNorm(x, w, null) },
  { name: 'layerNormTokens', shapes: [[2, 7, 10], [10], [10]], fn: (o, [t, w, b]) => o.layerNormTokens(t, w, b) },
  // a config's norm_eps / attn_eps (large, so an addon that ignored them would differ)
  { name: 'layerNorm with bias, eps 0.5', shapes: [[2, 4, 5, 6], [6], [6]], fn: (o, [x, w, b]) => o.layerNorm(x, w, b, 0.5) },
  { name: 'layerNorm bias-free, eps 0.5', shapes: [[2, 4, 5, 6], [6]], fn: (o, [x, w]) => o.layerNorm(x, w, null, 0.5) },
  { name: 'layerNormTokens, eps 0.5', shapes: [[2, 7, 10], [10], [10]], fn: (o, [t, w, b]) => o.layerNormTokens(t, w, b, 0.5) },
  { name: 'linear + bias', shapes: [[2, 7, 10], [10, 4], [4]], fn: (o, [t, w, b]) => o.linear(t, w, b) },
  { name: 'concatChannels', shapes: [[2, 3, 4, 2], [2, 3, 4, 5]], fn: (o, [a, b]) => o.concatChannels([a, b]) },
  { name: 'sliceAxis 3 of a conv weight, then conv', shapes: [[1, 4, 4, 3], [1, 1, 3, 12]], fn: (o, [x, w]) => o.conv2d(x, o.sliceAxis(w, 3, 4, 4), null, 0) },
  { name: 'sliceAxis 2 of a depthwise weight', shapes: [[1, 4, 4, 3], [3, 3, 9, 1]], fn: (o, [x, w]) => o.depthwiseConv2d(x, o.sliceAxis(w, 2, 3, 3), null, 1) },
  { name: 'sliceAxis 0 of a bias', shapes: [[8]], fn: (o, [b]) => o.sliceAxis(b, 0, 2, 5) },
  { name: 'channelAttention, 1 head', shapes: [[2, 5, 6, 4], [2, 5, 6, 4], [2, 5, 6, 4], [1]], kinds: ['rand', 'rand', 'rand', 'pos'], fn: (o, [q, k, v, t]) => o.channelAttention(q, k, v, t, 1) },
  { name: 'channelAttention, 2 heads', shapes: [[2, 5, 6, 6], [2, 5, 6, 6], [2, 5, 6, 6], [2]], kinds: ['rand', 'rand', 'rand', 'pos'], fn: (o, [q, k, v, t]) => o.channelAttention(q, k, v, t, 2) },
  { name: 'channelAttention, 2 heads, eps 3', shapes: [[2, 5, 6, 6], [2, 5, 6, 6], [2, 5, 6, 6], [2]], kinds: ['rand', 'rand', 'rand', 'pos'], fn: (o, [q, k, v, t]) => o.channelAttention(q, k, v, t, 2, 3) },
  { name: 'tokenAttention, 1 head', shapes: [[2, 4, 5, 4], [2, 7, 4], [2, 7, 4]], fn: (o, [q, k, v]) => o.tokenAttention(q, k, v, 1) },
  { name: 'tokenAttention, 2 heads', shapes: [[2, 4, 5, 6], [2, 7, 6], [2, 7, 6]], fn: (o, [q, k, v]) => o.tokenAttention(q, k, v, 2) },
];

function inputData(c: OpCase, seed: number): Float32Array[] {
  return c.shapes.map((s, i) => {
    const kind = c.kinds?.[i] ?? 'rand';
    const r = lcg(seed + 17 * i);
    if (kind === 'mask') return Float32Array.from({ length: size(s) }, () => (r() < 0.5 ? 0 : 1));
    if (kind === 'pos') return Float32Array.from({ length: size(s) }, () => 0.5 + r());
    return randomFloats(size(s), seed + 17 * i);
  });
}

/** Output values and the gradients of sum(out * r) for every non-mask input, on tfjs-cpu. */
function runTf(c: OpCase, data: Float32Array[]): { out: Float32Array; grads: Float32Array[] } {
  const ops = new TfOps(new ParamStore('create'));
  const xs = data.map((d, i) => tf.tensor(d, c.shapes[i]));
  const outT = tf.tidy(() => c.fn(ops, xs));
  const r = tf.tensor(randomFloats(outT.size, 5), outT.shape);
  const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(c.fn(ops, ins), r)))(xs);
  const res = { out: outT.dataSync() as Float32Array, grads: g.map((t) => t.dataSync() as Float32Array) };
  tf.dispose([...xs, outT, r, ...g]);
  ops.dispose();
  return res;
}

function runTorch(t: TorchAddon, c: OpCase, data: Float32Array[]): { out: Float32Array; grads: Float32Array[] } {
  const ops = new TorchOps(t, new TorchParamStore(t, 'create'));
  const xs = data.map((d, i) => t.fromFloat32(d, c.shapes[i], true));
  const out = c.fn(ops, xs);
  const r = t.fromFloat32(randomFloats(size(out.shape), 5), out.shape);
  const prod = t.mul(out, r);
  const loss = t.sum(prod);
  loss.backward();
  const grads = xs.map((x) => {
    const g = x.grad()!;
    const v = g.toFloat32();
    g.dispose();
    return v;
  });
  const res = { out: out.toFloat32(), grads };
  for (const h of [...xs, r, prod, loss]) h.dispose();
  ops.release();
  return res;
}

test('every op of ops.ts: values and input gradients equal tfjs-cpu (relative 1e-5)', { skip }, () => {
  const t = torch!;
  const live = t.liveTensors();
  for (const [i, c] of CASES.entries()) {
    const data = inputData(c, 100 + i);
    const a = runTorch(t, c, data);
    const b = runTf(c, data);
    const d = relDiff(a.out, b.out);
    assert.ok(d < 1e-5, `${c.name}: forward differs by ${d}`);
    for (const [k, g] of a.grads.entries()) {
      if (c.kinds?.[k] === 'mask') continue;
      const dg = relDiff(g, b.grads[k]);
      assert.ok(dg < 1e-5, `${c.name}: gradient of input ${k} differs by ${dg}`);
    }
  }
  assert.equal(t.liveTensors(), live, 'tensor handles leaked');
});

test('a scope drops the handles made inside it but not its result; release drops the rest', { skip }, () => {
  const t = torch!;
  const ops = new TorchOps(t, new TorchParamStore(t, 'create'));
  const before = t.liveTensors();
  const x = t.fromFloat32(new Float32Array([1, 2, 3, 4]), [1, 2, 2, 1]);
  const y = ops.scope('s', () => ops.mul(ops.add(x, ops.constant(1)), ops.constant(2)));
  assert.equal(t.liveTensors(), before + 2); // x and y
  assert.deepEqual([...y.toFloat32()], [4, 6, 8, 10]);
  ops.release();
  assert.ok(y.disposed);
  assert.throws(() => y.toFloat32(), /after dispose/);
  x.dispose();
  assert.equal(t.liveTensors(), before);
});

test('errors from libtorch and bad arguments become JS errors', { skip }, () => {
  const t = torch!;
  const x = t.fromFloat32(new Float32Array(12), [1, 2, 2, 3]);
  const w = t.fromFloat32(new Float32Array(4), [1, 1, 4, 1]);
  assert.throws(() => t.conv2d(x, w, null, 0), /does not have 4 channels/);
  assert.throws(() => t.fromFloat32(new Float32Array(5), [2, 3]), /5 values for a shape of 6/);
  assert.throws(() => t.add(x, {} as TorchTensor), /expected a Tensor/);
  x.dispose();
  w.dispose();
});

function lossInputs(seed: number, outChannels: 1 | 3): { shapes: number[][]; data: Float32Array[] } {
  const r = lcg(seed);
  const shapes = [[2, 16, 14, outChannels], [2, 16, 14, 1], [2, 16, 14, 3]];
  return { shapes, data: shapes.map((s) => Float32Array.from({ length: size(s) }, () => r())) };
}

for (const output of ['y', 'rgb'] as const) {
  test(`fusion loss (output ${output}): every term and d(total)/d(out) equal losses.ts on tfjs-cpu`, { skip }, () => {
    const t = torch!;
    const { shapes, data } = lossInputs(output === 'y' ? 7 : 8, output === 'y' ? 1 : 3);
    const w = { ssim: 1, intensity: 4, gradient: 10, color: 12 };
    const [outT, irT, viT] = data.map((d, i) => tf.tensor(d, shapes[i]));
    const ref = tf.tidy(() => {
      const terms = fusionLoss(outT, output, irT, viT, w);
      return Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, v.dataSync()[0]]));
    });
    const refGrad = tf.tidy(() => tf.grad((o: tf.Tensor) => fusionLoss(o, output, irT, viT, w).total)(outT).dataSync() as Float32Array);
    const [o, ir, vi] = data.map((d, i) => t.fromFloat32(d, shapes[i], i === 0));
    const terms = t.fusionLoss(o, output === 'rgb', ir, vi, [w.ssim, w.intensity, w.gradient, w.color]);
    for (const k of ['total', 'ssim', 'intensity', 'gradient', 'color'] as const) {
      const v = terms[k].item();
      assert.ok(Math.abs(v - ref[k]) <= 1e-5 * Math.max(1, Math.abs(ref[k])), `${k}: torch ${v}, tfjs ${ref[k]}`);
    }
    if (output === 'y') assert.equal(terms.color.item(), 0);
    else assert.ok(ref.color > 0.01);
    terms.total.backward();
    const g = o.grad()!;
    const dg = relDiff(g.toFloat32(), refGrad);
    assert.ok(dg < 1e-4, `d(total)/d(out) differs by ${dg}`);
    for (const h of [g, o, ir, vi, ...Object.values(terms)]) h.dispose();
    tf.dispose([outT, irT, viT]);
  });
}

test('AdamW: three steps equal src/training/adamw.ts on tfjs-cpu bit for bit (weights and moments)', { skip }, async () => {
  const t = torch!;
  const opts = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const shape = [3, 5];
  const p0 = randomFloats(15, 1);
  const tfParams = new Map([['w', tf.variable(tf.tensor(p0, shape))]]);
  const adam = new AdamW(opts);
  const p = t.fromFloat32(p0, shape, true);
  const m = t.fromFloat32(new Float32Array(15), shape);
  const v = t.fromFloat32(new Float32Array(15), shape);
  for (let step = 1; step <= 3; step++) {
    const g = randomFloats(15, 10 + step, step === 2 ? 1e-6 : 1);
    // d/dp sum(p * g) = g exactly
    const gt = t.fromFloat32(g, shape);
    const loss = t.sum(t.mul(p, gt));
    p.zeroGrad();
    loss.backward();
    t.adamwStep([p], [m], [v], adamwConstants(opts, step));
    const tg = tf.tensor(g, shape);
    adam.step(tfParams, new Map([['w', tg]]));
    tg.dispose();
    for (const h of [gt, loss]) h.dispose();
    const got = p.toFloat32();
    const want = tfParams.get('w')!.dataSync();
    for (let i = 0; i < 15; i++) assert.equal(got[i], want[i], `step ${step}, element ${i}: ${got[i]} != ${want[i]}`);
  }
  const moments = await adam.toArrays();
  assert.deepEqual([...m.toFloat32()], [...moments.get('optim.m.w')!.data]);
  assert.deepEqual([...v.toFloat32()], [...moments.get('optim.v.w')!.data]);
  for (const h of [p, m, v]) h.dispose();
  adam.dispose();
  tfParams.get('w')!.dispose();
});

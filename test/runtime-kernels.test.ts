/**
 * The wasm training kernels (src/runtime/kernels/) against tfjs-cpu, the reference: each conv
 * gradient through tf.grads of the forward op (so the attrs are exactly what tfjs-core's gradient
 * functions pass) on random shapes, strides and paddings; BatchMatMul on every transpose and batch
 * layout; a finite-difference check; a small Restormer-style stack's whole gradient; no leaked tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/runtime/backend.js';
import { setDepthwiseInputMode } from '../src/runtime/kernels/register.js';
import { initProbeWeights, probeLoss, toParams, type ProbeNetConfig } from '../src/runtime/probe-net.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function randArray(shape: number[], seed: number): Float32Array {
  const r = rng(seed);
  return new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => r());
}

/** Runs `fn` on a backend and returns its outputs as plain arrays. */
async function on(backend: BackendName, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend);
  const outs = tf.tidy(fn);
  const data = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return data;
}

/** max |a - b| / max |b|: float32 sums in another order agree to about 1e-6 of the scale. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

async function assertSameOnBoth(label: string, fn: () => tf.Tensor[], tol = 2e-5): Promise<void> {
  const ref = await on('cpu', fn);
  const got = await on('wasm', fn);
  for (let k = 0; k < ref.length; k++) {
    const e = relErr(got[k], ref[k]);
    assert.ok(e < tol, `${label} output ${k}: relative error ${e.toExponential(2)} >= ${tol}`);
  }
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  /** conv: output channels; depthwise: channel multiplier. */
  cout: number;
  fh: number;
  fw: number;
  stride: 1 | 2;
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { n: 2, h: 9, w: 7, cin: 5, cout: 6, fh: 3, fw: 3, stride: 1, pad: 'same' },
  { n: 1, h: 8, w: 8, cin: 4, cout: 3, fh: 3, fw: 3, stride: 2, pad: 'same' },
  { n: 2, h: 7, w: 10, cin: 3, cout: 4, fh: 3, fw: 3, stride: 2, pad: 'valid' },
  { n: 1, h: 6, w: 5, cin: 6, cout: 2, fh: 1, fw: 1, stride: 1, pad: 'valid' },
  { n: 2, h: 6, w: 6, cin: 3, cout: 5, fh: 1, fw: 1, stride: 2, pad: 'same' },
  { n: 1, h: 9, w: 8, cin: 2, cout: 3, fh: 2, fw: 4, stride: 1, pad: 'same' },
  { n: 1, h: 10, w: 9, cin: 3, cout: 2, fh: 5, fw: 3, stride: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { n: 2, h: 11, w: 11, cin: 4, cout: 1, fh: 3, fw: 3, stride: 1, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
];

function caseLabel(c: ConvCase): string {
  return `${c.n}x${c.h}x${c.w}x${c.cin} k${c.fh}x${c.fw}/${c.cout} s${c.stride} ${JSON.stringify(c.pad)}`;
}

/** d/dx and d/dW of sum(op(x, W) * r): the gradient ops see the forward's exact attrs. */
function convGrads(c: ConvCase, depthwise: boolean, seed: number): () => tf.Tensor[] {
  const xShape = [c.n, c.h, c.w, c.cin];
  const wShape = [c.fh, c.fw, c.cin, c.cout];
  const xData = randArray(xShape, seed);
  const wData = randArray(wShape, seed + 1);
  return () => {
    const x = tf.tensor4d(xData, xShape as [number, number, number, number]);
    const w = tf.tensor4d(wData, wShape as [number, number, number, number]);
    const op = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      depthwise ? tf.depthwiseConv2d(a, b, c.stride, c.pad) : tf.conv2d(a, b, c.stride, c.pad);
    const yShape = op(x, w).shape;
    const r = tf.tensor(randArray(yShape, seed + 2), yShape);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), r)))([x, w]);
  };
}

test('Conv2D gradients (Conv2DBackpropInput, Conv2DBackpropFilter) on wasm equal tfjs-cpu', async () => {
  for (const [i, c] of CONV_CASES.entries()) await assertSameOnBoth(`conv2d ${caseLabel(c)}`, convGrads(c, false, 10 + i));
});

test('depthwise gradients (both input paths and the filter loop) on wasm equal tfjs-cpu', async () => {
  for (const mode of ['conv', 'loop'] as const) {
    setDepthwiseInputMode(mode);
    for (const [i, c] of CONV_CASES.entries()) {
      const mult = Math.min(c.cout, 2);
      await assertSameOnBoth(`depthwise(${mode}) ${caseLabel(c)} x${mult}`, convGrads({ ...c, cout: mult }, true, 30 + i));
    }
  }
  setDepthwiseInputMode('conv');
});

test('depthwise 3x3 filter gradient matches central finite differences', async () => {
  await initBackend('wasm');
  const shape: [number, number, number, number] = [2, 6, 7, 3];
  const x = tf.tensor4d(randArray(shape, 5), shape);
  const r = tf.tensor4d(randArray(shape, 6), shape);
  const w0 = randArray([3, 3, 3, 1], 7);
  const loss = (w: Float32Array) =>
    tf.tidy(() => tf.sum(tf.mul(tf.depthwiseConv2d(x, tf.tensor4d(w, [3, 3, 3, 1]), 1, 'same'), r)).dataSync()[0]);
  const g = tf.tidy(() =>
    tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(x, w as tf.Tensor4D, 1, 'same'), r)))(tf.tensor4d(w0, [3, 3, 3, 1])).dataSync(),
  );
  const eps = 1e-2;
  for (let k = 0; k < w0.length; k++) {
    const up = Float32Array.from(w0);
    const down = Float32Array.from(w0);
    up[k] += eps;
    down[k] -= eps;
    const fd = (loss(up) - loss(down)) / (2 * eps);
    // The loss is linear in w, so the difference quotient is exact up to float32 rounding of the sums.
    assert.ok(Math.abs(fd - g[k]) < 2e-3 * Math.max(1, Math.abs(g[k])), `tap ${k}: fd ${fd} vs grad ${g[k]}`);
  }
  tf.dispose([x, r]);
});

test('BatchMatMul on wasm equals tfjs-cpu for batches, broadcasting and transposes', async () => {
  const layouts: [number[], number[], boolean, boolean][] = [
    [[3, 7, 5], [3, 5, 4], false, false],
    [[3, 5, 7], [3, 5, 4], true, false],
    [[3, 7, 5], [3, 4, 5], false, true],
    [[2, 3, 5, 7], [2, 3, 4, 5], true, true],
    [[1, 40, 6], [1, 40, 6], true, false],
    [[4, 9, 6], [6, 6], false, true],
    [[6, 5], [4, 5, 3], false, false],
    [[33, 6], [6, 7], false, false],
  ];
  for (const [i, [as, bs, ta, tb]] of layouts.entries()) {
    const ad = randArray(as, 50 + i);
    const bd = randArray(bs, 70 + i);
    await assertSameOnBoth(`matMul ${as} ${bs} tA=${ta} tB=${tb}`, () => [tf.matMul(tf.tensor(ad, as), tf.tensor(bd, bs), ta, tb)]);
  }
});

const SMALL: ProbeNetConfig = { dim: 8, heads: 2, blocks: 2, ffnFactor: 2.66, inChannels: 4, outChannels: 3 };

function probeGrads(cfg: ProbeNetConfig, n: number, size: number): () => tf.Tensor[] {
  const weights = initProbeWeights(cfg, 3);
  const xData = randArray([n, size, size, cfg.inChannels], 90);
  const tData = randArray([n, size, size, cfg.outChannels], 91);
  return () => {
    const p = toParams(weights);
    const names = Object.keys(p);
    const x = tf.tensor4d(xData, [n, size, size, cfg.inChannels]);
    const target = tf.tensor4d(tData, [n, size, size, cfg.outChannels]);
    const loss = (...ts: tf.Tensor[]) => probeLoss(cfg, Object.fromEntries(names.map((k, i) => [k, ts[i]])), x, target);
    const { value, grads } = tf.valueAndGrads(loss)(names.map((k) => p[k]));
    return [value, ...grads];
  };
}

test('a small Restormer-style stack has the same loss and gradients on wasm and tfjs-cpu', async () => {
  const ref = await on('cpu', probeGrads(SMALL, 2, 12));
  const got = await on('wasm', probeGrads(SMALL, 2, 12));
  assert.equal(got.length, ref.length);
  assert.ok(ref.length > 20, `expected every parameter's gradient, got ${ref.length - 1}`);
  for (let k = 0; k < ref.length; k++) {
    const e = relErr(got[k], ref[k]);
    assert.ok(e < 1e-4, `gradient ${k}: relative error ${e.toExponential(2)}`);
  }
  // Gradients are not trivially zero.
  assert.ok(ref.slice(1).every((g) => g.some((v) => v !== 0)));
});

test('a training step leaks no tensors on wasm', async () => {
  await initBackend('wasm');
  const weights = initProbeWeights(SMALL, 4);
  const vars = Object.fromEntries(Object.entries(toParams(weights)).map(([k, t]) => [k, tf.variable(t, true, `leak-${k}`)]));
  const opt = tf.train.adam(1e-3);
  const x = tf.tensor4d(randArray([2, 8, 8, 4], 1), [2, 8, 8, 4]);
  const target = tf.tensor4d(randArray([2, 8, 8, 3], 2), [2, 8, 8, 3]);
  const step = () => {
    const loss = opt.minimize(() => probeLoss(SMALL, vars, x, target), true);
    loss?.dispose();
  };
  step(); // the optimizer creates its moment slots on the first step
  const before = tf.memory().numTensors;
  step();
  step();
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  tf.dispose([x, target, ...Object.values(vars)]);
});

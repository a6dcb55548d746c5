/**
 * The tfjs ops against plain-JS reference implementations written from the definitions in
 * src/model/ops.ts (per-head loops, no tensors): channel attention (with the block-diagonal
 * multi-head trick), token attention, LayerNorm, GELU, parameter slices; and the FLOP counter's
 * parameter count against the tfjs model's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureGradients, tf } from '../src/model/tfjs.js';
import { TfOps } from '../src/model/ops-tfjs.js';
import { ParamStore } from '../src/model/params.js';
import { TesgModel } from '../src/model/model.js';
import { modelCost } from '../src/model/ops-count.js';
import { validateModelConfig } from '../src/model/config.js';
import { randomFloats, TINY } from './helpers/model-fixtures.js';

await tf.setBackend('cpu');
await ensureGradients();
const ops = new TfOps(new ParamStore('create'));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** x[n, c] of a [1, H, W, C] tensor, flattened over pixels. */
const at = (x: Float32Array, c: number, n: number, C: number) => x[n * C + c];

function refChannelAttention(q: Float32Array, k: Float32Array, v: Float32Array, temp: number[], N: number, C: number, heads: number): Float32Array {
  const per = C / heads;
  const out = new Float32Array(N * C);
  const norm = (x: Float32Array, c: number) => Math.sqrt(Array.from({ length: N }, (_, n) => at(x, c, n, C) ** 2).reduce((a, b) => a + b) + 1e-8);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < per; i++) {
      const ci = h * per + i;
      const s = Array.from({ length: per }, (_, j) => {
        const cj = h * per + j;
        let dot = 0;
        for (let n = 0; n < N; n++) dot += at(q, ci, n, C) * at(k, cj, n, C);
        return (dot / (norm(q, ci) * norm(k, cj))) * temp[h];
      });
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b);
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let j = 0; j < per; j++) acc += (e[j] / z) * at(v, h * per + j, n, C);
        out[n * C + ci] = acc;
      }
    }
  }
  return out;
}

test('channel attention = per-head reference (2 heads, 5x3 pixels, 6 channels)', () => {
  const [H, W, C, heads] = [5, 3, 6, 2];
  const N = H * W;
  const q = randomFloats(N * C, 1), k = randomFloats(N * C, 2), v = randomFloats(N * C, 3);
  const temp = [0.7, 2.5];
  const got = tf.tidy(() =>
    ops.channelAttention(tf.tensor4d(q, [1, H, W, C]), tf.tensor4d(k, [1, H, W, C]), tf.tensor4d(v, [1, H, W, C]), tf.tensor1d(temp), heads).dataSync(),
  );
  assert.ok(maxDiff(got, refChannelAttention(q, k, v, temp, N, C, heads)) < 1e-5);
  // an all-zero query channel (an empty mask) gives finite values and a finite gradient
  const zeros = new Float32Array(N * C);
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(ops.channelAttention(x, x, tf.tensor4d(v, [1, H, W, C]), tf.tensor1d(temp), heads)))(tf.tensor4d(zeros, [1, H, W, C])).dataSync());
  assert.ok(Array.from(g).every(Number.isFinite));
});

test('token attention = per-head reference (softmax(q k^T / sqrt(d)) v)', () => {
  const [H, W, C, T, heads] = [2, 3, 4, 5, 2];
  const N = H * W;
  const per = C / heads;
  const q = randomFloats(N * C, 4), k = randomFloats(T * C, 5), v = randomFloats(T * C, 6);
  const got = tf.tidy(() => ops.tokenAttention(tf.tensor4d(q, [1, H, W, C]), tf.tensor3d(k, [1, T, C]), tf.tensor3d(v, [1, T, C]), heads).dataSync());
  const want = new Float32Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const s = Array.from({ length: T }, (_, t) => {
        let d = 0;
        for (let j = 0; j < per; j++) d += q[n * C + h * per + j] * k[t * C + h * per + j];
        return d / Math.sqrt(per);
      });
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b);
      for (let j = 0; j < per; j++) want[n * C + h * per + j] = e.reduce((acc, ei, t) => acc + (ei / z) * v[t * C + h * per + j], 0);
    }
  }
  assert.ok(maxDiff(got, want) < 1e-5);
  // in chunks of 4 pixels (6 = 4 + 2), as large images run: the same values
  const chunked = new TfOps(new ParamStore('create'), 4);
  const got4 = tf.tidy(() => chunked.tokenAttention(tf.tensor4d(q, [1, H, W, C]), tf.tensor3d(k, [1, T, C]), tf.tensor3d(v, [1, T, C]), heads).dataSync());
  assert.ok(maxDiff(got4, want) < 1e-5);
});

test('LayerNorm (with bias and bias-free) and GELU against their formulas', () => {
  const x = [1, 2, 3, 6]; // mean 3, variance 3.5
  const w = [1, 2, 1, 1], b = [0, 0, 0, 1];
  const withBias = tf.tidy(() => ops.layerNorm(tf.tensor4d(x, [1, 1, 1, 4]), tf.tensor1d(w), tf.tensor1d(b)).dataSync());
  const sd = Math.sqrt(3.5 + 1e-5);
  assert.ok(maxDiff(withBias, x.map((xi, i) => ((xi - 3) / sd) * w[i] + b[i])) < 1e-6);
  const biasFree = tf.tidy(() => ops.layerNorm(tf.tensor4d(x, [1, 1, 1, 4]), tf.tensor1d(w), null).dataSync());
  assert.ok(maxDiff(biasFree, x.map((xi, i) => (xi / sd) * w[i])) < 1e-6);
  // GELU(1) = 0.5 (1 + erf(1/sqrt2)) = 0.841345, GELU(-1) = -0.158655
  const g = tf.tidy(() => ops.gelu(tf.tensor1d([1, -1, 0])).dataSync());
  assert.ok(maxDiff(g, [0.841345, -0.158655, 0]) < 1e-5);
});

test('parameter slices: a fused projection run on weight slices equals the conv then a channel split', () => {
  const x = tf.tensor4d(randomFloats(2 * 4 * 4 * 3, 7), [2, 4, 4, 3]);
  const w = tf.tensor4d(randomFloats(3 * 6, 8), [1, 1, 3, 6]);
  const whole = tf.conv2d(x, w, 1, 0);
  const second = ops.conv2d(x, ops.sliceAxis(w, 3, 3, 3), null, 0);
  assert.ok(maxDiff(second.dataSync(), tf.slice(whole, [0, 0, 0, 3], [2, 4, 4, 3]).dataSync()) < 1e-6);
  tf.dispose([x, w, whole, second]);
});

test('the FLOP counter sees the same parameters as the tfjs model (both run the one definition)', () => {
  for (const opts of [TINY, { ...TINY, use_mgca: false }, { ...TINY, use_tivr: false, use_gaf: false }, {}]) {
    const m = TesgModel.create(opts);
    assert.equal(modelCost(validateModelConfig(opts), 8, 8).params, m.params.count());
    m.dispose();
  }
});

test('FLOP counter on a hand-countable case: the embedding conv of one 4x4 IR image', () => {
  // 3x3 conv 1 -> 8 channels, no bias: 2 * 16 pixels * 9 * 1 * 8 = 2304 FLOPs
  const cost = modelCost(validateModelConfig({ ...TINY, enc_blocks: 0 }), 4, 4);
  assert.equal(cost.byPart.enc_ir, 2304);
  assert.equal(cost.byPart.enc_vi, 3 * 2304);
});

/**
 * The fusion losses against values computed by hand on tiny tensors (tfjs-cpu).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import {
  colorLoss, fusionLoss, gaussianWindow, gradientLoss, intensityLoss, sobelMagnitude, ssim, ssimLoss, DEFAULT_LOSS_WEIGHTS,
} from '../src/training/losses.js';

await tf.setBackend('cpu');

const img = (v: number[] | number, h: number, w: number, c = 1) =>
  tf.tensor4d(typeof v === 'number' ? new Float32Array(h * w * c).fill(v) : v, [1, h, w, c]);
const val = (t: tf.Tensor) => t.dataSync()[0];

test('gaussian window: 11 taps, sigma 1.5, sums to 1, symmetric, centre 0.2660', () => {
  const g = gaussianWindow();
  assert.equal(g.length, 11);
  assert.ok(Math.abs(g.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(Math.abs(g[0] - g[10]) < 1e-9);
  // exp(0) / sum_k exp(-k^2 / 4.5), k = -5..5 = 1 / 3.7599 = 0.26596
  assert.ok(Math.abs(g[5] - 0.26596) < 1e-4, String(g[5]));
});

test('SSIM is 1 and the SSIM loss 0 for identical inputs', () => {
  const a = tf.tidy(() => tf.rand([2, 16, 16, 1], lcgRand(3)));
  assert.ok(Math.abs(val(ssim(a, a)) - 1) < 1e-5);
  assert.ok(Math.abs(val(ssimLoss(a, a, a))) < 1e-5);
});

test('SSIM of two constant images: (2ab + C1) / (a^2 + b^2 + C1) by hand', () => {
  // a = 0.2, b = 0.6: variances 0, so SSIM = (0.24 + 1e-4) / (0.40 + 1e-4) = 0.600100. In float32,
  // E[x^2] - mu^2 leaves variances of ~1e-8 against C2 = 9e-4: about 1e-4 off, hence the tolerance.
  const s = val(ssim(img(0.2, 16, 16), img(0.6, 16, 16)));
  assert.ok(Math.abs(s - 0.2401 / 0.4001) < 3e-4, String(s));
  // a = 0.6, b = 0.2 gives the same; a = 0.5, b = 0.5 gives 1
  assert.ok(Math.abs(val(ssim(img(0.6, 16, 16), img(0.2, 16, 16))) - 0.2401 / 0.4001) < 3e-4);
  assert.ok(Math.abs(val(ssim(img(0.5, 12, 12), img(0.5, 12, 12))) - 1) < 1e-5);
});

test('Sobel |Gx| + |Gy| of a centre impulse, zero padding, by hand', () => {
  const x = img([0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 3);
  assert.deepEqual(Array.from(sobelMagnitude(x).dataSync()), [2, 2, 2, 2, 0, 2, 2, 2, 2]);
  // fused 0, IR the impulse, VI 0: target = the map above, L1 = 16 / 9
  const z = img(0, 3, 3);
  assert.ok(Math.abs(val(gradientLoss(z, x, z)) - 16 / 9) < 1e-6);
});

test('intensity loss: L1 to max(IR, VI_Y) by hand', () => {
  const f = img(0.5, 2, 2);
  const ir = img([0, 1, 0.2, 0.4], 2, 2);
  const vi = img([0.3, 0.1, 0.9, 0.4], 2, 2);
  // max = [0.3, 1, 0.9, 0.4]; |0.5 - max| = [0.2, 0.5, 0.4, 0.1]; mean 0.3
  assert.ok(Math.abs(val(intensityLoss(f, ir, vi)) - 0.3) < 1e-6);
});

test('colour loss: L1 in CbCr, 0 for VI itself, by hand for gray vs red', () => {
  const red = img([1, 0, 0], 1, 1, 3);
  const gray = img([0.5, 0.5, 0.5], 1, 1, 3);
  assert.equal(val(colorLoss(red, red)), 0);
  // red: Y = 0.299, Cb = 0.564 (0 - 0.299) + 0.5 = 0.331364, Cr = 0.713 (1 - 0.299) + 0.5 = 0.999813
  // gray: Cb = Cr = 0.5 -> mean(|0.168636|, |0.499813|) = 0.3342245
  assert.ok(Math.abs(val(colorLoss(gray, red)) - 0.3342245) < 1e-6);
});

test('fusion loss: weighted sum; with output y the colour term is identically 0', () => {
  const f = tf.tidy(() => tf.rand([1, 12, 12, 1], lcgRand(5)));
  const ir = tf.tidy(() => tf.rand([1, 12, 12, 1], lcgRand(6)));
  const vi = tf.tidy(() => tf.rand([1, 12, 12, 3], lcgRand(7)));
  const t = fusionLoss(f, 'y', ir, vi);
  const w = DEFAULT_LOSS_WEIGHTS;
  assert.equal(val(t.color), 0);
  const expect = w.ssim * val(t.ssim) + w.intensity * val(t.intensity) + w.gradient * val(t.gradient);
  assert.ok(Math.abs(val(t.total) - expect) < 1e-5);
  const rgb = fusionLoss(vi, 'rgb', ir, vi);
  assert.equal(val(rgb.color), 0); // the VI image itself has VI's chroma
  assert.ok(val(fusionLoss(tf.tidy(() => tf.reverse(vi, 3)), 'rgb', ir, vi).color) > 0.01);
});

function lcgRand(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

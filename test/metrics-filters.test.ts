/**
 * The shared filters against brute-force 2-D convolution written straight from the definitions
 * (scipy's convolve2d 'valid' and 'same' with zero fill, MATLAB's fspecial('gaussian')).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  filterMoments,
  filterValidSeparable,
  gaussianWindow1D,
  sobelSame,
  uniformMomentsFloat32,
  uniformWindow1D,
  type Plane,
} from '../src/metrics/filters.js';

function randomPlane(w: number, h: number, seed: number): Plane {
  let s = seed;
  const data = new Float64Array(w * h).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % 256;
  });
  return { width: w, height: h, data };
}

/** fspecial('gaussian', [n n], sd) built in 2-D, tiny taps zeroed, normalised. */
function fspecialGaussian(n: number, sd: number): number[][] {
  const m = (n - 1) / 2;
  const h = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.exp(-((i - m) ** 2 + (j - m) ** 2) / (2 * sd * sd))));
  const max = Math.max(...h.flat());
  const z = h.map((r) => r.map((v) => (v < Number.EPSILON * max ? 0 : v)));
  const sum = z.flat().reduce((a, b) => a + b, 0);
  return z.map((r) => r.map((v) => v / sum));
}

/** convolve2d(img, kernel, mode) by the definition out[i][j] = sum k[a][b] img[i-a+oy][j-b+ox]. */
function convolve2d(img: Plane, k: number[][], mode: 'valid' | 'same'): Plane {
  const kh = k.length, kw = k[0].length;
  const outW = mode === 'valid' ? img.width - kw + 1 : img.width;
  const outH = mode === 'valid' ? img.height - kh + 1 : img.height;
  const oy = mode === 'valid' ? kh - 1 : (kh - 1) >> 1, ox = mode === 'valid' ? kw - 1 : (kw - 1) >> 1;
  const out = new Float64Array(outW * outH);
  for (let i = 0; i < outH; i++)
    for (let j = 0; j < outW; j++) {
      let s = 0;
      for (let a = 0; a < kh; a++)
        for (let b = 0; b < kw; b++) {
          const y = i - a + oy, x = j - b + ox;
          if (y >= 0 && x >= 0 && y < img.height && x < img.width) s += k[a][b] * img.data[y * img.width + x];
        }
      out[i * outW + j] = s;
    }
  return { width: outW, height: outH, data: out };
}

function assertClose(a: Float64Array, b: Float64Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('gaussian window: outer product equals fspecial for every VIF window', () => {
  for (const n of [17, 9, 5, 3]) {
    const g = gaussianWindow1D(n, n / 5);
    const ref = fspecialGaussian(n, n / 5);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(g[i] * g[j] - ref[i][j]) < 1e-15);
  }
  // A window whose corners fspecial would zero is refused rather than silently made non-separable.
  assert.throws(() => gaussianWindow1D(41, 1), RangeError);
});

test("separable 'valid' filtering equals 2-D convolve2d 'valid', with and without subsampling", () => {
  const img = randomPlane(37, 29, 7);
  for (const n of [17, 9, 5, 3]) {
    const ref = convolve2d(img, fspecialGaussian(n, n / 5), 'valid');
    const got = filterValidSeparable(img, gaussianWindow1D(n, n / 5));
    assert.deepEqual([got.width, got.height], [37 - n + 1, 29 - n + 1]);
    assertClose(got.data, ref.data, 1e-10, `gaussian ${n}`);
    // [::2, ::2] of the valid output
    const sub = filterValidSeparable(img, gaussianWindow1D(n, n / 5), 2);
    assert.deepEqual([sub.width, sub.height], [Math.ceil(ref.width / 2), Math.ceil(ref.height / 2)]);
    for (let y = 0; y < sub.height; y++)
      for (let x = 0; x < sub.width; x++) assert.ok(Math.abs(sub.data[y * sub.width + x] - ref.data[2 * y * ref.width + 2 * x]) < 1e-10);
  }
  for (const n of [7, 4]) {
    const box = filterValidSeparable(img, uniformWindow1D(n));
    const boxRef = convolve2d(img, Array.from({ length: n }, () => Array(n).fill(1 / (n * n))), 'valid');
    assertClose(box.data, boxRef.data, 1e-10, `box ${n}`);
  }
  // Taps are folded in pairs, so an asymmetric window is refused rather than silently mirrored.
  assert.throws(() => filterValidSeparable(img, new Float64Array([1, 2, 3])), /symmetric/);
});

test('filterMoments equals separate filtering of a, a*a and a*b', () => {
  const a = randomPlane(41, 23, 1), b = randomPlane(41, 23, 2);
  const product = (x: Plane, y: Plane): Plane => ({ ...x, data: x.data.map((v, i) => v * y.data[i]) });
  for (const k of [gaussianWindow1D(17, 3.4), uniformWindow1D(7), uniformWindow1D(6)]) {
    const m = filterMoments(a, k, b);
    assertClose(m.mean, filterValidSeparable(a, k).data, 1e-9, 'mean');
    assertClose(m.meanSq, filterValidSeparable(product(a, a), k).data, 1e-7, 'meanSq');
    assertClose(m.cross as Float64Array, filterValidSeparable(product(a, b), k).data, 1e-7, 'cross');
    assert.equal(filterMoments(a, k).cross, undefined);
  }
});

test('uniformMomentsFloat32: float32 values within float32 rounding of the float64 box filter', () => {
  const a = randomPlane(30, 20, 4), b = randomPlane(30, 20, 5);
  const m = uniformMomentsFloat32(a, 7, b);
  const product = (x: Plane, y: Plane): Plane => ({ ...x, data: x.data.map((v, i) => v * y.data[i]) });
  const pairs: [Float32Array, Float64Array][] = [
    [m.mean, filterValidSeparable(a, uniformWindow1D(7)).data],
    [m.meanSq, filterValidSeparable(product(a, a), uniformWindow1D(7)).data],
    [m.cross as Float32Array, filterValidSeparable(product(a, b), uniformWindow1D(7)).data],
  ];
  for (const [got, ref] of pairs) {
    assert.equal(got.length, 24 * 14);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - ref[i]) <= 2 ** -22 * Math.abs(ref[i]), `${got[i]} vs ${ref[i]}`);
  }
  // Ones in the first column only: the window mean is 1/7, stored as float32 (not the double 1/7).
  const column: Plane = { width: 7, height: 7, data: new Float64Array(49).map((_, i) => (i % 7 === 0 ? 1 : 0)) };
  const mean = uniformMomentsFloat32(column, 7).mean[0];
  assert.equal(mean, Math.fround(1 / 7));
  assert.notEqual(mean, 1 / 7);
});

test("sobel equals convolve2d(img, h, 'same') with zero fill, border included", () => {
  const img = randomPlane(13, 9, 3);
  const { gx, gy } = sobelSame(img);
  assertClose(gx, convolve2d(img, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 'same').data, 0, 'gx');
  assertClose(gy, convolve2d(img, [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], 'same').data, 0, 'gy');
});

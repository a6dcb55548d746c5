/**
 * RGB <-> YCbCr (BT.601 full range, OpenCV constants), luminance planes and recolouring: hand-computed
 * pixels, the round-trip bound over a grid of colours, and the half-to-even rounding of outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lumaPlane, planeToGray8, recolor, rgbToYCbCr, roundHalfEven, toByte, ycbcrToRgb } from '../src/image/color.js';
import type { Image8 } from '../src/image/types.js';

const rgbImage = (pixels: number[]): Image8 => ({ width: pixels.length / 3, height: 1, channels: 3, data: Uint8Array.from(pixels) });

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

test('YCbCr of hand-computed pixels (Y=.299R+.587G+.114B, Cr=(R-Y).713+128, Cb=(B-Y).564+128)', () => {
  const p = rgbToYCbCr(rgbImage([255, 0, 0, 0, 0, 255, 100, 150, 200, 255, 255, 255]));
  const expected = [
    [76.245, 84.99782, 255.452315], // red
    [29.07, 255.42452, 107.27309], // blue
    [140.75, 161.417, 98.94525], // 29.9 + 88.05 + 22.8
    [255, 128, 128], // white: no chroma
  ];
  expected.forEach(([y, cb, cr], i) => {
    close(p.y[i], y, 1e-4, `Y[${i}]`);
    close(p.cb[i], cb, 1e-4, `Cb[${i}]`);
    close(p.cr[i], cr, 1e-4, `Cr[${i}]`);
  });
});

test('inverse of hand-computed planes: R = Y + 1.403(Cr-128), G = Y - .714(Cr-128) - .344(Cb-128), B = Y + 1.773(Cb-128)', () => {
  // Y 100, Cb 150, Cr 90: R = 100 - 53.314 = 46.686 -> 47; G = 100 + 27.132 - 7.568 = 119.564 -> 120;
  // B = 100 + 39.006 = 139.006 -> 139. Second pixel clamps: Y 250, Cr 200 -> R = 351.0 -> 255, G = 250 - 51.408 -> 199.
  const out = ycbcrToRgb({ width: 2, height: 1, y: Float32Array.of(100, 250), cb: Float32Array.of(150, 128), cr: Float32Array.of(90, 200) });
  assert.deepEqual(Array.from(out.data), [47, 120, 139, 255, 199, 250]);
});

test('8-bit RGB -> YCbCr -> RGB is exact on a colour grid; float error stays below 0.13', () => {
  const px: number[] = [];
  for (let r = 0; r <= 255; r += 15) for (let g = 0; g <= 255; g += 15) for (let b = 0; b <= 255; b += 15) px.push(r, g, b);
  px.push(255, 0, 255, 0, 255, 0, 1, 254, 3);
  const img = rgbImage(px);
  const planes = rgbToYCbCr(img);
  assert.deepEqual(ycbcrToRgb(planes).data, img.data);
  let worst = 0;
  for (let i = 0; i < planes.y.length; i++) {
    const y = planes.y[i], cr = planes.cr[i] - 128, cb = planes.cb[i] - 128;
    const back = [y + 1.403 * cr, y - 0.714 * cr - 0.344 * cb, y + 1.773 * cb];
    back.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - px[3 * i + c]))));
  }
  assert.ok(worst < 0.13 && worst > 0.01, `round-trip float error ${worst}`);
});

test('a gray image: Y = value, no chroma; recolor of a gray VI is gray', () => {
  const gray: Image8 = { width: 3, height: 1, channels: 1, data: Uint8Array.of(0, 77, 255) };
  assert.deepEqual(Array.from(lumaPlane(gray)), [0, 77, 255]);
  const p = rgbToYCbCr(gray);
  assert.deepEqual([Array.from(p.cb), Array.from(p.cr)], [[128, 128, 128], [128, 128, 128]]);
  const out = recolor(Float64Array.of(10.5, 77.5, 300), gray);
  assert.deepEqual([out.channels, Array.from(out.data)], [1, [10, 78, 255]]);
});

test('recolor keeps VI chroma: its own Y gives VI back; a brighter Y shifts all channels equally', () => {
  const vi = rgbImage([200, 30, 60, 128, 128, 128, 12, 200, 90]);
  assert.deepEqual(recolor(lumaPlane(vi), vi).data, vi.data);
  const y = lumaPlane(vi).map((v) => v + 10);
  const out = recolor(y, vi).data;
  assert.deepEqual(Array.from(out.subarray(3, 6)), [138, 138, 138]);
  assert.deepEqual(Array.from(out.subarray(0, 3)), [210, 40, 70]);
  assert.throws(() => recolor(new Float64Array(2), vi), RangeError);
});

test('outputs round half to even and clamp to 0..255', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 250.5, 2.4999, -0.5, -1.5, 3.5000001].map(roundHalfEven), [0, 2, 2, 250, 2, -0, -2, 4]);
  assert.deepEqual([-3, 0.5, 127.5, 254.6, 999].map(toByte), [0, 0, 128, 255, 255]);
  assert.deepEqual(Array.from(planeToGray8([1.5, 2.5, -1, 256], 2, 2).data), [2, 2, 0, 255]);
});

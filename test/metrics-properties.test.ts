/**
 * Properties and hand-computed values of the metrics (the oracle test covers real images):
 * ideal scores for identical images, symmetry in the two sources, closed-form cases, and input checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GrayImage } from '../src/image/types.js';
import { InputError, MismatchError } from '../src/errors.js';
import { METRICS, DEFAULT_METRIC_NAMES, findMetric, EN, SD, SF, AG, MI, MSE, CC, PSNR, SCD, VIF, Qabf, SSIM, SSIM_cddfuse } from '../src/metrics/index.js';
import { mutualInformation } from '../src/metrics/mi.js';
import { VIF_MIN_SIDE } from '../src/metrics/vif.js';

function image(w: number, h: number, f: (x: number, y: number) => number): GrayImage {
  const data = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { width: w, height: h, data };
}
/** Deterministic textured test images (a seeded LCG, integers 0..255). */
function noise(w: number, h: number, seed: number): GrayImage {
  let s = seed;
  return image(w, h, () => ((s = (s * 1103515245 + 12345) % 2147483648), s % 256));
}
const W = 64, H = 48;
const ir = image(W, H, (x, y) => Math.round(128 + 100 * Math.sin(x / 5) * Math.cos(y / 7)));
const vi = noise(W, H, 11);
const fused = image(W, H, (x, y) => Math.round((ir.data[y * W + x] + vi.data[y * W + x]) / 2));
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('registry: unique names, MSE the only lower-is-better, default set without the compatibility SSIM', () => {
  const names = METRICS.map((m) => m.name);
  assert.deepEqual(names, ['EN', 'SD', 'SF', 'AG', 'MI', 'MSE', 'CC', 'PSNR', 'SCD', 'VIF', 'Qabf', 'SSIM', 'SSIM_cddfuse']);
  assert.deepEqual(METRICS.filter((m) => !m.higherIsBetter).map((m) => m.name), ['MSE']);
  assert.ok(!DEFAULT_METRIC_NAMES.includes('SSIM_cddfuse') && DEFAULT_METRIC_NAMES.length === 12);
  assert.equal(findMetric('qabf')?.name, 'Qabf');
  assert.equal(findMetric('nope'), undefined);
  for (const m of METRICS) assert.ok(m.description.length > 10, m.name);
});

test('EN: constant image 0 bits, two levels 50/50 exactly 1 bit, four equal levels 2 bits', () => {
  const c = image(W, H, () => 77);
  assert.equal(EN(c, c, c), 0);
  const two = image(W, H, (x) => (x % 2 ? 200 : 10));
  assert.equal(EN(two, two, two), 1);
  const four = image(W, H, (x) => (x % 4) * 60);
  assert.equal(EN(four, four, four), 2);
});

test('SD: 0 for a constant; 50 for a 0/100 half-half image', () => {
  const c = image(W, H, () => 123);
  assert.equal(SD(c, c, c), 0);
  const half = image(W, H, (x) => (x < W / 2 ? 0 : 100));
  close(SD(half, half, half), 50, 1e-12, 'SD');
});

test('SF: checkerboard 0/255 gives 255*sqrt(2); a horizontal ramp of slope 1 gives 1', () => {
  const cb = image(W, H, (x, y) => ((x + y) % 2 ? 255 : 0));
  close(SF(cb, cb, cb), 255 * Math.SQRT2, 1e-9, 'SF checkerboard');
  const ramp = image(W, H, (x) => x);
  close(SF(ramp, ramp, ramp), 1, 1e-12, 'SF ramp');
});

test('AG: a ramp of slope 2 gives sqrt(4/2) everywhere, borders included (one-sided differences)', () => {
  const ramp = image(W, H, (x) => 2 * x);
  close(AG(ramp, ramp, ramp), Math.SQRT2, 1e-12, 'AG');
});

test('MI: of an image with itself is its entropy in nats; symmetric in the two sources', () => {
  const two = image(W, H, (x) => (x % 2 ? 200 : 10));
  close(mutualInformation(two, two), Math.LN2, 1e-12, 'MI(two,two)');
  const indep = image(W, H, (x, y) => (y % 2 ? 200 : 10)); // independent of `two`
  close(mutualInformation(two, indep), 0, 1e-12, 'MI of independent images');
  close(MI(fused, ir, vi), MI(fused, vi, ir), 1e-12, 'MI symmetry');
});

test('symmetry in the sources: MSE, CC, PSNR, SCD, VIF, Qabf, SSIM', () => {
  for (const f of [MSE, CC, PSNR, SCD, VIF, Qabf, SSIM, SSIM_cddfuse]) close(f(fused, ir, vi), f(fused, vi, ir), 1e-12, f.name);
});

test('identical images: SSIM 2, VIF 2, CC 2/2, MSE 0, PSNR infinite, Qabf the documented quirk value', () => {
  const x = noise(W, H, 5);
  close(SSIM(x, x, x), 2, 1e-12, 'SSIM');
  close(SSIM_cddfuse(x, x, x), 2, 1e-12, 'SSIM_cddfuse');
  close(VIF(x, x, x), 2, 1e-9, 'VIF');
  close(CC(x, x, x), 1, 1e-12, 'CC');
  assert.equal(MSE(x, x, x), 0);
  assert.equal(PSNR(x, x, x), Infinity);
  // With F = source, orientation agreement A = 1 gives Qa = 0.9879 / (1 + exp(-22 * 0.2)), and the
  // strength quirk (ratio := gF where gA == gF) gives Qg ~ 0.9994 for strong edges: a vertical step.
  const step = image(W, H, (x) => (x < W / 2 ? 20 : 220));
  const qa = 0.9879 / (1 + Math.exp(-22 * 0.2));
  close(Qabf(step, step, step), 0.9994 * qa, 1e-9, 'Qabf of a step edge with itself');
});

test('hand-computed: MSE, PSNR, CC and SCD on small exact cases', () => {
  const a = image(W, H, () => 100), b = image(W, H, () => 50), f = image(W, H, () => 80);
  assert.equal(MSE(f, a, b), (400 + 900) / 2);
  close(PSNR(f, a, b), 10 * Math.log10((80 * 80) / 650), 1e-12, 'PSNR');
  const g = image(W, H, (x) => x), neg = image(W, H, (x) => 255 - 2 * x);
  close(CC(g, g, neg), 0, 1e-12, 'CC of +1 and -1 correlations');
  // F = IR + VI - const makes F - VI = IR - const and F - IR = VI - const: SCD = 1 + 1.
  const src1 = image(W, H, (x, y) => (x * 3 + y) % 100), src2 = image(W, H, (x, y) => (x * y) % 100);
  const sum = image(W, H, (x, y) => src1.data[y * W + x] + src2.data[y * W + x] + 20);
  close(SCD(sum, src1, src2), 2, 1e-12, 'SCD');
});

test('input checks: size mismatch is a MismatchError naming both sizes; bad values and tiny images are InputErrors', () => {
  const small = image(32, 48, () => 0);
  for (const m of METRICS) {
    assert.throws(() => m.compute(fused, ir, small), (e: unknown) => e instanceof MismatchError && /64x48.*vi is 32x48/.test(e.message), m.name);
  }
  const bad = image(W, H, (x) => (x === 3 ? 256 : 0));
  assert.throws(() => SD(bad, ir, vi), (e: unknown) => e instanceof InputError && /fused: .*256 at \(x=3, y=0\)/.test(e.message));
  const nan = image(W, H, () => NaN);
  assert.throws(() => EN(fused, nan, vi), InputError);
  const tiny = image(VIF_MIN_SIDE - 1, VIF_MIN_SIDE, () => 9);
  assert.throws(() => VIF(tiny, tiny, tiny), (e: unknown) => e instanceof InputError && /needs at least 41x41/.test(e.message));
  assert.equal(VIF_MIN_SIDE, 41);
  const justBig = image(41, 41, (x, y) => (x * y) % 256);
  assert.ok(Number.isFinite(VIF(justBig, justBig, noise(41, 41, 2))));
  const broken: GrayImage = { width: 10, height: 10, data: new Float64Array(99) };
  assert.throws(() => SF(broken, broken, broken), /expected 10x10 = 100 gray values, got 99/);
});

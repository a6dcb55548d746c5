/**
 * Classic baselines: average and max on hand-made pixels, the registry, Laplacian-pyramid round trips
 * on odd sizes, and the average/max against the oracle's fused images (../shared/oracle/fused), which
 * were made as round_half_even((gray(IR) + gray(VI)) / 2) with gray = round_half_even(.299R+.587G+.114B).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MismatchError, UsageError } from '../src/errors.js';
import { DEFAULT_FUSION_METHOD, fusionMethodNames, getFusionMethod, registerFusionMethod } from '../src/fusion/index.js';
import { collapsePyramid, laplacianPyramid, levelsFor, pyrDown, pyrUp } from '../src/fusion/pyramid.js';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.join(ROOT, '..', 'shared');
const noShared = !existsSync(path.join(SHARED, 'oracle', 'fused')) && 'no ../shared/oracle';

const gray = (width: number, height: number, px: number[]): Image8 => ({ width, height, channels: 1, data: Uint8Array.from(px) });
const rgb = (width: number, height: number, px: number[]): Image8 => ({ width, height, channels: 3, data: Uint8Array.from(px) });
const average = getFusionMethod('average');
const max = getFusionMethod('max');
const laplacian = getFusionMethod('laplacian');

function noise(width: number, height: number, channels: 1 | 3, seed: number): Image8 {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1664525 + 1013904223) >>> 0) >>> 24;
  return { width, height, channels, data };
}

test('registry: the three baselines, the default among them, unknown names listed in the error', () => {
  assert.deepEqual(fusionMethodNames().slice(0, 3), ['average', 'max', 'laplacian']);
  assert.ok(fusionMethodNames().includes(DEFAULT_FUSION_METHOD));
  assert.throws(() => getFusionMethod('tesg-net'), (e: Error) => e instanceof UsageError && /unknown fusion method 'tesg-net'; available: average, max, laplacian/.test(e.message));
  assert.throws(() => registerFusionMethod(average), /registered twice/);
});

test('average and max on gray pixels; ties of the average round to even', async () => {
  const ir = gray(2, 2, [10, 200, 1, 0]), vi = gray(2, 2, [20, 100, 2, 255]);
  assert.deepEqual(Array.from((await average.fuse(ir, vi)).data), [15, 150, 2, 128]); // 1.5 -> 2, 127.5 -> 128
  assert.deepEqual(Array.from((await average.fuse(gray(1, 2, [0, 4]), gray(1, 2, [5, 5]))).data), [2, 4]); // 2.5 -> 2, 4.5 -> 4
  const m = await max.fuse(ir, vi);
  assert.deepEqual([m.channels, Array.from(m.data)], [1, [20, 200, 2, 255]]);
});

test('colour VI: the luminance is fused and VI chroma kept; --gray fuses the reference gray', async () => {
  // VI (200,30,60): Y = 84.25, Cr = 115.75*.713+128, Cb = -24.25*.564+128. IR 104.25 is not a byte,
  // so use IR 104 and 105: fused Y = 94.125 / 94.625.
  const vi = rgb(2, 1, [200, 30, 60, 200, 30, 60]);
  const out = await average.fuse(gray(2, 1, [104, 105]), vi);
  // R = Y + 1.403*Cr' = Y + 115.789, G = Y - 58.926 + 4.705, B = Y - 24.249.
  assert.deepEqual([out.channels, Array.from(out.data)], [3, [210, 40, 70, 210, 40, 70]]);
  const mid = await max.fuse(gray(1, 1, [100]), rgb(1, 1, [128, 128, 128]));
  assert.deepEqual(Array.from(mid.data), [128, 128, 128]);
  // Gray mode: toGray(VI) = round(84.25) = 84; (10 + 84)/2 = 47, (11 + 84)/2 = 47.5 -> 48.
  const g = await average.fuse(gray(2, 1, [10, 11]), vi, { gray: true });
  assert.deepEqual([g.channels, Array.from(g.data)], [1, [47, 48]]);
  // An RGB IR (gray stored as 3 channels) is reduced to its luminance.
  const g2 = await max.fuse(rgb(2, 1, [90, 90, 90, 50, 60, 70]), vi, { gray: true });
  assert.deepEqual(Array.from(g2.data), [90, 84]); // round(.299*50 + .587*60 + .114*70) = 58 < 84
});

test('different sizes are refused', async () => {
  for (const m of [average, max, laplacian]) await assert.rejects(m.fuse(gray(2, 2, [0, 0, 0, 0]), gray(2, 1, [0, 0])), MismatchError);
});

test('pyramid: sizes halve rounding up, levels capped at a base side >= 4, exact float round trip', () => {
  assert.deepEqual([levelsFor(640, 480, 5), levelsFor(37, 23, 5), levelsFor(5, 3, 5), levelsFor(1, 1, 5)], [5, 3, 1, 1]);
  const p = { width: 37, height: 23, data: Float64Array.from({ length: 37 * 23 }, (_, i) => Math.sin(i) * 100 + 100) };
  const pyr = laplacianPyramid(p, 3);
  assert.deepEqual(pyr.map((l) => [l.width, l.height]), [[37, 23], [19, 12], [10, 6]]);
  assert.deepEqual([pyrDown(p).width, pyrDown(p).height], [19, 12]);
  const back = collapsePyramid(pyr);
  let err = 0;
  for (let i = 0; i < p.data.length; i++) err = Math.max(err, Math.abs(back.data[i] - p.data[i]));
  assert.ok(err < 1e-9, `round-trip error ${err}`);
});

test('pyramid: pyrDown keeps a linear ramp (kernel sums to 1), pyrUp interpolates it linearly', () => {
  const w = 21, h = 15;
  const ramp = { width: w, height: h, data: Float64Array.from({ length: w * h }, (_, i) => 3 * (i % w) + 5 * Math.floor(i / w)) };
  const down = pyrDown(ramp);
  assert.deepEqual([down.width, down.height], [11, 8]);
  for (let oy = 1; 2 * oy <= h - 3; oy++) for (let ox = 1; 2 * ox <= w - 3; ox++) assert.ok(Math.abs(down.data[oy * 11 + ox] - (6 * ox + 10 * oy)) < 1e-12);
  const up = pyrUp(down, w, h);
  // Up-sampled pixels >= 4 from the border only use down-sampled values that were themselves interior.
  for (let y = 4; y <= h - 5; y++) for (let x = 4; x <= w - 5; x++) assert.ok(Math.abs(up.data[y * w + x] - (3 * x + 5 * y)) < 1e-12, `(${x},${y})`);
});

test('laplacian: identical inputs give the input back exactly, at odd and tiny sizes, gray and colour', async () => {
  for (const [w, h] of [[37, 23], [64, 48], [5, 3], [1, 1], [2, 9]]) {
    for (const channels of [1, 3] as const) {
      const x = noise(w, h, channels, w * 31 + h + channels);
      const out = await laplacian.fuse(x, x);
      assert.deepEqual([out.width, out.height, out.channels], [w, h, channels], `${w}x${h}x${channels}`);
      assert.deepEqual(out.data, x.data, `${w}x${h}x${channels}`);
    }
  }
});

test('laplacian: flat inputs average (details are zero); levels param validated', async () => {
  const out = await laplacian.fuse(gray(9, 7, new Array(63).fill(100)), gray(9, 7, new Array(63).fill(51)));
  assert.deepEqual(new Set(out.data), new Set([76])); // 75.5 -> 76
  // A sharp IR edge on a flat VI survives at full contrast: max-abs keeps IR's details.
  const edge = gray(16, 16, Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 0 : 200)));
  const fused = await laplacian.fuse(edge, gray(16, 16, new Array(256).fill(100)), { params: { levels: 3 } });
  const step = fused.data[8 * 16 + 8] - fused.data[8 * 16 + 7];
  assert.ok(step > 150, `edge step ${step} (average fusion would give 100)`);
  await assert.rejects(laplacian.fuse(edge, edge, { params: { levels: 0 } }), UsageError);
});

test('oracle: average/max in gray reproduce ../shared/oracle/fused pixel for pixel', { skip: noShared }, async () => {
  const cases: Array<[string, string, string, typeof average]> = [
    ['data/msrs/test/ir/00103D.png', 'data/msrs/test/vi/00103D.png', 'oracle/fused/msrs-00103D-avg.png', average],
    ['data/samples/llvip/ir/010001.jpg', 'data/samples/llvip/vi/010001.jpg', 'oracle/fused/llvip-010001-avg.png', average],
    ['data/samples/roadscene/ir/FLIR_00006.jpg', 'data/samples/roadscene/vi/FLIR_00006.jpg', 'oracle/fused/roadscene-FLIR_00006-avg.png', average],
    ['data/samples/tno/ir/Marne_01.bmp', 'data/samples/tno/vi/Marne_01.bmp', 'oracle/fused/tno-Marne_01-max.png', max],
  ];
  for (const [irRel, viRel, fusedRel, method] of cases) {
    const [ir, vi, ref] = await Promise.all([irRel, viRel, fusedRel].map((r) => readImage(path.join(SHARED, r))));
    const out = await method.fuse(ir, vi, { gray: true });
    let differing = 0;
    for (let i = 0; i < ref.data.length; i++) if (out.data[i] !== ref.data[i]) differing++;
    // toGray rounds half-to-even like numpy, so the oracle images match pixel for pixel.
    assert.equal(differing, 0, `${fusedRel}: ${differing} pixels differ from the oracle`);
  }
});

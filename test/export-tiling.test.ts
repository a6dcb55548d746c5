/**
 * Tiled inference: the tile plan covers the image, the ramp blending reproduces any per-pixel
 * operator exactly and a local operator exactly away from the image border, and the network tiled
 * vs whole agrees within the tolerance measured for it (docs/onnx-export.md: the network's
 * channel attention is global over the pixels it sees, so tiles cannot be exact).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/model/tfjs.js';
import { TesgModel } from '../src/model/model.js';
import { buildOnnxModel } from '../src/export/export.js';
import { OnnxFuser } from '../src/export/onnx-fuse.js';
import { cropChw, hwcToChw } from '../src/export/layout.js';
import { planTiles, rampWeights, runTiled, tileStarts } from '../src/export/tiling.js';
import { readImage } from '../src/image/read.js';
import { LexiconEncoder } from '../src/semantics/lexicon-encoder.js';
import { tmp } from './helpers/export-parity.js';

await tf.setBackend('cpu');

test('tile starts: cover the length, overlap at least the overlap, first 0 and last flush with the end', () => {
  assert.deepEqual(tileStarts(100, 128, 32), [0]);
  assert.deepEqual(tileStarts(1280, 512, 48), [0, 384, 768]);
  for (const [len, tile, ov] of [[1024, 512, 48], [1000, 300, 40], [513, 512, 32]]) {
    const s = tileStarts(len, tile, ov);
    assert.equal(s[0], 0);
    assert.equal(s[s.length - 1] + tile, len);
    for (let i = 1; i < s.length; i++) assert.ok(s[i - 1] + tile - s[i] >= ov, `${len}/${tile}/${ov}: overlap ${s[i - 1] + tile - s[i]}`);
  }
});

test('ramp weights: 1 on image borders, rising over the ramp inside', () => {
  const w = rampWeights({ x: 0, y: 0, width: 8, height: 1 }, 16, 1, 4);
  assert.deepEqual([...w], [1, 1, 1, 1, 0.875, 0.625, 0.375, 0.125]);
});

test('blending a per-pixel operator reproduces it exactly; a 3x3 box filter exactly where the tiles see its whole window', async () => {
  const [w, h, c] = [101, 67, 2];
  const img = Float32Array.from({ length: c * w * h }, (_, i) => Math.sin(i * 0.37) + (i % 13) / 13);
  const perPixel = (x: Float32Array) => Float32Array.from(x, (v) => v * v - 0.5 * v);
  const tiled = await runTiled(w, h, c, 40, 12, async (r) => perPixel(cropChw(img, h, w, c, r)));
  const whole = perPixel(img);
  let d = 0;
  for (let i = 0; i < whole.length; i++) d = Math.max(d, Math.abs(tiled[i] - whole[i]));
  assert.ok(d < 1e-5, `per-pixel: ${d}`);

  // Box filter with zero padding: a tile's result is wrong only on its edge pixels inside the image
  // (their window leaves the tile); there the ramp weight is small but not zero.
  const box = (x: Float32Array, ww: number, hh: number) => {
    const out = new Float32Array(x.length);
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < hh; y++)
        for (let xx = 0; xx < ww; xx++) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
            const [yy, xx2] = [y + dy, xx + dx];
            if (yy >= 0 && yy < hh && xx2 >= 0 && xx2 < ww) s += x[(ch * hh + yy) * ww + xx2];
          }
          out[(ch * hh + y) * ww + xx] = s / 9;
        }
    return out;
  };
  const wholeBox = box(img, w, h);
  const tiledBox = await runTiled(w, h, c, 40, 12, async (r) => box(cropChw(img, h, w, c, r), r.width, r.height));
  let maxAll = 0;
  for (let i = 0; i < wholeBox.length; i++) maxAll = Math.max(maxAll, Math.abs(tiledBox[i] - wholeBox[i]));
  assert.ok(maxAll < 0.05, `box: ${maxAll}`);
  // Far from any tile edge (more than 1 px inside every covering tile), exact.
  const tiles = planTiles(w, h, 40, 12);
  let maxInner = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const nearEdge = tiles.some(
        (t) =>
          x >= t.x && x < t.x + t.width && y >= t.y && y < t.y + t.height &&
          ((x === t.x && t.x > 0) || (x === t.x + t.width - 1 && t.x + t.width < w) || (y === t.y && t.y > 0) || (y === t.y + t.height - 1 && t.y + t.height < h)),
      );
      if (!nearEdge) for (let ch = 0; ch < c; ch++) maxInner = Math.max(maxInner, Math.abs(tiledBox[(ch * h + y) * w + x] - wholeBox[(ch * h + y) * w + x]));
    }
  assert.ok(maxInner < 1e-5, `box away from tile edges: ${maxInner}`);
});

test('network (default config, random weights) on a 192x144 crop of sample 01102N: tiled 96/32 vs whole', async () => {
  const model = TesgModel.create({}, 1);
  const file = path.join(tmp, 'tiling.onnx');
  writeFileSync(file, buildOnnxModel(model.config, await model.params.toArrays()).bytes);
  model.dispose();
  const fuser = await OnnxFuser.load(file, { threads: 2 });
  try {
    const ir = await readImage(path.join('samples', 'msrs', 'ir', '01102N.png'));
    const vi = await readImage(path.join('samples', 'msrs', 'vi', '01102N.png'));
    const [w, h] = [192, 144];
    const r = { x: 200, y: 150, width: w, height: h };
    const irP = cropChw(hwcToChw(ir.data, ir.height, ir.width, ir.channels, 1 / 255), ir.height, ir.width, ir.channels, r).slice(0, w * h);
    const viP = cropChw(hwcToChw(vi.data, vi.height, vi.width, 3, 1 / 255), vi.height, vi.width, 3, r);
    const mask = Float32Array.from({ length: w * h }, (_, i) => (i % w > w * 0.4 && i % w < w * 0.6 && Math.floor(i / w) > h * 0.3 ? 1 : 0));
    const text = new LexiconEncoder().encodeSync('a night street with two persons and a car');
    const inp = { width: w, height: h, ir: irP, vi: viP, mask, text };
    const whole = await fuser.runPlanar(inp);
    const tiled = await fuser.runNetwork(inp, { tile: 96, overlap: 32 });
    let [max, sum] = [0, 0];
    for (let p = 0; p < w * h; p++) {
      const d = Math.abs(whole[p] - tiled[p]);
      max = Math.max(max, d);
      sum += d;
    }
    // Measured: max 0.071, mean 0.0048 (0..1 scale; 1 grey level = 0.0039). The differences are
    // spread over the tiles, not concentrated at the seams: they come from the global attention.
    assert.ok(sum / (w * h) < 0.01, `mean abs diff ${sum / (w * h)}`);
    assert.ok(max < 0.1, `max abs diff ${max}`);
    assert.ok(max > 1e-4, 'tiles should differ from the whole image (global channel attention); an exact match means tiling did not run');
  } finally {
    await fuser.release();
  }
});

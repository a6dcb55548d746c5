/**
 * U-shaped configs (level_dims, ...) exported to ONNX against the tfjs model on tfjs-cpu (random
 * weights): the graph's stride-2 Conv, Resize (nearest) and MaxPool mean the same as the tfjs ops;
 * odd sizes (37x29) are padded to the size multiple and cropped back by both OnnxFuser and
 * TesgModel.predict, which agree; tiling pads each tile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import { TesgModel } from '../src/model/model.js';
import type { ModelConfig } from '../src/model/config.js';
import { sizeMultiple } from '../src/model/config.js';
import { maxAbsDiff } from './helpers/export-parity.js';
import { exportModel, onnxForward, randomCase, tfjsForward } from './helpers/export-network.js';

await tf.setBackend('cpu');

const U: Partial<ModelConfig> = { dim: 4, heads: 1, level_dims: [8, 8], level_heads: [2, 2], enc_blocks: 2, dec_blocks: 2, enc_level_blocks: [0, 1, 1], dec_level_blocks: [1, 0, 1] };
const VARIANTS: Array<[string, Partial<ModelConfig>]> = [
  ['MGCA-TDAF at 1/4, conv skips', U],
  ['MGCA-TDAF at 1/2, gated skips, image masks, biases, RGB output', { ...U, fusion_level: 1, skip_fusion: 'gated', mask_on: 'image', bias: true, output: 'rgb' }],
  ['four levels (size multiple 8)', { ...U, level_dims: [8, 8, 8], level_heads: [2, 2, 2], enc_level_blocks: [0, 1, 0, 1], dec_level_blocks: [0, 0, 1, 1] }],
  // epsilons far from v1's: the graph must take the config's (LayerNorm's and channel attention's)
  ['norm_eps 0.3, attn_eps 2, RGB output', { ...U, norm_eps: 0.3, attn_eps: 2, output: 'rgb' }],
  ['base_fusion max (global residual)', { ...U, base_fusion: 'max' }],
];

for (const [label, cfg] of VARIANTS) {
  test(`U network (${label}): ONNX = tfjs within 1e-4 at two sizes from one file`, async () => {
    const model = TesgModel.create(cfg, 11);
    const fuser = await exportModel(model, label.replace(/\W+/g, '-'));
    const m = sizeMultiple(model.config);
    for (const [w, h] of [[4 * m, 3 * m], [2 * m, 5 * m]]) {
      const k = randomCase(model.config, w, h, w + h, true);
      const ref = tfjsForward(model, k);
      const got = await onnxForward(fuser, k);
      assert.equal(got.length, ref.length);
      const d = maxAbsDiff(got, ref);
      assert.ok(d < 1e-4, `${w}x${h}: max |onnx - tfjs| = ${d}`);
    }
    await fuser.release();
    model.dispose();
  });
}

test('the epsilons variant above is a real check: norm_eps 0.3, attn_eps 2 change the tfjs output by > 1e-2 (same weights), so an export that ignored them fails its 1e-4', () => {
  const withEps = TesgModel.create(VARIANTS[3][1], 11);
  const plain = TesgModel.create({ ...VARIANTS[3][1], norm_eps: undefined, attn_eps: undefined }, 11);
  const c = withEps.config;
  assert.deepEqual([c.norm_eps, c.attn_eps, plain.config.norm_eps, plain.config.attn_eps], [0.3, 2, 1e-5, 1e-8]);
  const k = randomCase(c, 16, 12, 3, true);
  const d = maxAbsDiff(tfjsForward(withEps, k), tfjsForward(plain, k));
  assert.ok(d > 1e-2, `the epsilons moved the output by only ${d}`);
  withEps.dispose();
  plain.dispose();
});

test('odd size 37x29 (size multiple 4): predict pads and crops back; ONNX and tfjs agree on every pixel within 1 grey level, also tiled', async () => {
  const model = TesgModel.create(U, 5);
  const fuser = await exportModel(model, 'unet-odd');
  const [w, h] = [37, 29];
  const k = randomCase(model.config, w, h, 3, true);
  const to8 = (a: Float32Array) => Uint8Array.from(a, (v) => Math.round(v * 255));
  const input = {
    ir: { width: w, height: h, channels: 1 as const, data: to8(k.ir) },
    vi: { width: w, height: h, channels: 3 as const, data: to8(k.vi) },
    mask: { width: w, height: h, data: Uint8Array.from(k.mask) },
    embedding: k.text,
    textEncoderId: model.config.text_encoder,
  };
  const a = await model.predict(input);
  const b = await fuser.predict(input, { tile: 0 });
  assert.deepEqual([a.width, a.height, a.channels, b.width, b.height, b.channels], [w, h, 3, w, h, 3]);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  assert.ok(worst <= 1, `predict vs ONNX: ${worst} grey levels`);
  // 21 px tiles of a 37x29 image, each padded to 24x24 and cropped back
  const tiled = await fuser.predict(input, { tile: 21, overlap: 6 });
  assert.deepEqual([tiled.width, tiled.height], [w, h]);
  // the crop of the padded run equals the run on the padded image: cropping is exact
  const pw = 40;
  const ph = 32;
  const mirror = (i: number, n: number) => (i < n ? i : 2 * n - 1 - i);
  const padded = (x: Float32Array, ch: number) => {
    const out = new Float32Array(ph * pw * ch);
    for (let y = 0; y < ph; y++) for (let xx = 0; xx < pw; xx++) for (let c = 0; c < ch; c++) out[(y * pw + xx) * ch + c] = x[(mirror(y, h) * w + mirror(xx, w)) * ch + c];
    return out;
  };
  const viIn = Float32Array.from(input.vi.data, (v) => v / 255);
  const irIn = Float32Array.from(input.ir.data, (v) => v / 255);
  const full = tf.tidy(() =>
    model.forward({
      ir: tf.tensor4d(padded(irIn, 1), [1, ph, pw, 1]),
      vi: tf.tensor4d(padded(viIn, 3), [1, ph, pw, 3]),
      mask: tf.tensor4d(padded(k.mask, 1), [1, ph, pw, 1]),
      text: tf.tensor3d(k.text, [1, 77, 64]),
    }).dataSync() as Float32Array,
  );
  // Y of the prediction at (x, y) vs the padded run's output there (the recolouring only adds chroma)
  let yWorst = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const px = a.data.subarray(3 * i, 3 * i + 3);
      if ([...px].some((v) => v === 0 || v === 255)) continue;
      const yPred = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
      yWorst = Math.max(yWorst, Math.abs(yPred - full[y * pw + x] * 255));
    }
  }
  assert.ok(yWorst < 1.5, `predict's Y vs the padded forward: ${yWorst} grey levels`);
  await fuser.release();
  model.dispose();
});

/**
 * The U-shaped configs (level_dims, ...) on libtorch against tfjs-cpu: the new ops (stride-2 conv,
 * nearest 2x, max-pool) on hand-made inputs, and the whole network's output and every parameter's
 * gradient of small U-shapes (MGCA-TDAF at the deepest level and at 1/2, conv and gated skips,
 * image masks, biases) with the same weights: output 1e-4, gradients relative 1e-3, as
 * test/runtime-torch-train.test.ts checks tesg-v1. Skipped, with the reason, where the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import type { ModelConfig } from '../src/model/config.js';
import { TesgModel } from '../src/model/model.js';
import { TfOps } from '../src/model/ops-tfjs.js';
import { TorchOps, TorchParamStore } from '../src/model/ops-torch.js';
import { ParamStore } from '../src/model/params.js';
import { randomFloats } from './helpers/model-fixtures.js';
import { batchOf, forwardParity, gradientParity, maxAbs, relNorm, torchAndTfjsCpu } from './helpers/torch-parity.js';

const { skip, torch } = await torchAndTfjsCpu();

const U: Partial<ModelConfig> = { dim: 4, heads: 1, level_dims: [8, 8], level_heads: [2, 2], enc_blocks: 2, dec_blocks: 2, enc_level_blocks: [0, 1, 1], dec_level_blocks: [1, 0, 1] };
const VARIANTS: Record<string, Partial<ModelConfig>> = {
  'U, MGCA-TDAF at 1/4, conv skips': U,
  'U, MGCA-TDAF at 1/2, gated skips, image masks, biases': { ...U, fusion_level: 1, skip_fusion: 'gated', mask_on: 'image', bias: true },
  // epsilons far from v1's, so a backend that ignored the config's would differ
  'U, norm_eps 0.3, attn_eps 2': { ...U, norm_eps: 0.3, attn_eps: 2 },
  'U, base_fusion max (global residual on max(IR, Y_VI))': { ...U, base_fusion: 'max' },
};

test('downConv, upsample2x, maxPool: torch equals tfjs-cpu and the hand values', { skip }, () => {
  const t = torch!;
  const tops = new TorchOps(t, new TorchParamStore(t, 'strict'));
  const fops = new TfOps(new ParamStore('strict'));
  // x [1, 4, 4, 1] = 0..15 row-major
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const up = tops.upsample2x(t.fromFloat32(Float32Array.of(1, 2, 3, 4), [1, 2, 2, 1]));
  assert.deepEqual(up.shape, [1, 4, 4, 1]);
  assert.deepEqual(Array.from(up.toFloat32()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const pool = tops.maxPool(t.fromFloat32(x, [1, 4, 4, 1]), 2);
  assert.deepEqual(Array.from(pool.toFloat32()), [5, 7, 13, 15]);
  // 2x2 stride 2, weight 1 everywhere: the sum of each 2x2 block (+ bias 0.5)
  const w = t.fromFloat32(new Float32Array(4).fill(1), [2, 2, 1, 1]);
  const down = tops.downConv(t.fromFloat32(x, [1, 4, 4, 1]), w, t.fromFloat32(Float32Array.of(0.5), [1]));
  assert.deepEqual(Array.from(down.toFloat32()), [10.5, 18.5, 42.5, 50.5]);
  // 3x3 stride 2, one zero pixel each side, random values: torch = tfjs
  const x5 = randomFloats(2 * 6 * 8 * 3, 7);
  const w3 = randomFloats(3 * 3 * 3 * 5, 8);
  const a = tops.downConv(t.fromFloat32(x5, [2, 6, 8, 3]), t.fromFloat32(w3, [3, 3, 3, 5]), null).toFloat32();
  const b = tf.tidy(() => fops.downConv(tf.tensor(x5, [2, 6, 8, 3]), tf.tensor(w3, [3, 3, 3, 5]), null).dataSync() as Float32Array);
  assert.equal(a.length, 2 * 3 * 4 * 5);
  assert.ok(relNorm(a, b) < 1e-6);
  const tfUp = tf.tidy(() => Array.from(fops.upsample2x(tf.tensor(Float32Array.of(1, 2, 3, 4), [1, 2, 2, 1])).dataSync()));
  assert.deepEqual(tfUp, Array.from(up.toFloat32()));
  tops.release();
});

for (const [label, cfg] of Object.entries(VARIANTS)) {
  test(`U network forward (${label}): torch equals tfjs-cpu with the same weights (1e-4)`, { skip }, async () => {
    const [b, h, w] = [2, 12, 16];
    const r = await forwardParity(torch!, cfg, [b, h, w], 0.6);
    assert.deepEqual(r.shape, [b, h, w, 1]);
    const d = maxAbs(r.torch, r.tfjs);
    assert.ok(d < 1e-4, `max |torch - tfjs| = ${d}`);
    assert.deepEqual(r.torchParams, r.tfjsParams);
  });

  test(`U loss and every parameter gradient (${label}): torch (2 micro-batches) equals tfjs-cpu (relative 1e-3)`, { skip }, async () => {
    const model = TesgModel.create(cfg, 5);
    const { tfjs, torch: tg } = await gradientParity(torch!, model, await batchOf(2, 16, 9));
    model.dispose();
    assert.ok(Math.abs(tg.losses.total - tfjs.losses.total) <= 1e-5 * Math.max(1, Math.abs(tfjs.losses.total)), `loss: torch ${tg.losses.total}, tfjs ${tfjs.losses.total}`);
    assert.equal(tfjs.grads.size, tg.grads.size);
    const names = [...tfjs.grads.keys()];
    // the new parameters are among those checked
    for (const p of ['enc_vi.down1.weight', 'enc_ir.down2.weight', 'dec.up0.weight', 'dec.up1.weight']) assert.ok(names.includes(p), p);
    for (const [name, want] of tfjs.grads) {
      const got = tg.grads.get(name);
      assert.ok(got, `${name}: no torch gradient`);
      const d = relNorm(got, want);
      assert.ok(d < 1e-3, `${name}: gradients differ by ${d} (relative)`);
    }
  });
}

/**
 * The U-shaped config space (src/model/config.ts level_* keys, src/model/presets.ts): tesg-v1 is
 * one point of it (the shipped weights' names and shapes are the v1 preset's), the new keys are
 * validated with messages naming the key, sizeMultiple follows the levels, the new ops count the
 * hand-computed FLOPs, every preset keeps four blocks per encoder and decoder, and the tfjs-wasm
 * backend (which lacks some gradient kernels) gives tfjs-cpu's gradients through the new ops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../src/model/tfjs.js';
import { initBackend } from '../src/runtime/backend.js';
import { sizeMultiple, validateModelConfig, viChannels } from '../src/model/config.js';
import type { ModelConfig } from '../src/model/config.js';
import { tesgNetwork } from '../src/model/network.js';
import { CountOps, modelCost } from '../src/model/ops-count.js';
import { MODEL_PRESETS, modelPreset } from '../src/model/presets.js';
import { TesgModel, TRAIN_STATE_PREFIX } from '../src/model/model.js';
import { readTensorFile } from '../src/model/safetensors.js';
import { BatchSampler } from '../src/training/data.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';
import { localGradients } from '../src/training/trainer.js';
import { UsageError } from '../src/errors.js';
import { syntheticData } from './helpers/model-fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const U: Partial<ModelConfig> = { dim: 4, heads: 1, level_dims: [8, 8], level_heads: [2, 2], enc_blocks: 2, dec_blocks: 2, enc_level_blocks: [0, 1, 1], dec_level_blocks: [1, 0, 1] };

/** Every parameter the definition asks for, with its shape (CountOps on a small input). */
function paramShapes(cfg: ModelConfig): Map<string, number[]> {
  const ops = new CountOps();
  const s = 4 * sizeMultiple(cfg);
  const map = (c: number) => ({ shape: [1, s, s, c] });
  tesgNetwork(ops, cfg, { ir: map(1), vi: map(viChannels(cfg)), mask: map(1), text: { shape: [1, cfg.text_tokens, cfg.text_dim] } });
  return ops.params;
}

test('the v1 preset is DEFAULT_MODEL_CONFIG; its parameter names and shapes are exactly those of the shipped weights and checkpoint', async () => {
  const v1 = validateModelConfig(modelPreset('v1'));
  assert.deepEqual(v1, validateModelConfig({}));
  const want = paramShapes(v1);
  assert.equal(want.size, 193);
  for (const file of ['weights/tesg-v1/tesg.safetensors', 'weights/tesg-v1/train/checkpoint.safetensors']) {
    const t = await readTensorFile(path.join(root, file));
    const names = [...t.tensors.keys()].filter((n) => !n.startsWith(TRAIN_STATE_PREFIX)).sort();
    assert.deepEqual(names, [...want.keys()].sort(), file);
    for (const n of names) assert.deepEqual(t.tensors.get(n)!.shape, want.get(n), `${file}: ${n}`);
    // the stored config (written before the level keys existed) validates to v1: one level
    const cfg = validateModelConfig(JSON.parse(t.metadata.tesg_config) as Record<string, unknown>);
    assert.deepEqual([cfg.level_dims, cfg.enc_level_blocks, cfg.dec_level_blocks, cfg.fusion_level, sizeMultiple(cfg)], [[], [], [], -1, 1]);
  }
});

test('norm_eps and attn_eps: v1\'s values by default (stored configs have neither key), positive finite numbers, the u2 presets\' well-conditioned ones', () => {
  const d = validateModelConfig({});
  assert.deepEqual([d.norm_eps, d.attn_eps], [1e-5, 1e-8]);
  for (const [cfg, re] of [
    [{ norm_eps: 0 }, /^opts\.json: 'norm_eps' must be a finite number > 0, got 0$/],
    [{ attn_eps: -1 }, /^opts\.json: 'attn_eps' must be a finite number > 0, got -1$/],
    [{ norm_eps: '1e-2' }, /^opts\.json: 'norm_eps' must be a number, got "1e-2"$/],
  ] as Array<[Record<string, unknown>, RegExp]>) {
    assert.throws(() => validateModelConfig(cfg, 'opts.json'), (e: Error) => e instanceof UsageError && re.test(e.message), JSON.stringify(cfg));
  }
  for (const name of ['u2-a', 'u2-b', 'u2-c']) {
    const c = validateModelConfig(modelPreset(name));
    assert.deepEqual([c.norm_eps, c.attn_eps], [1e-2, 0.1], name);
  }
});

test('level keys are validated with the source and key named; sizeMultiple is 2^(inner levels)', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ level_dims: [8] }, /level_heads needs one entry per inner level \(1/],
    [{ level_dims: [8], level_heads: [3] }, /level_heads\[0\] \(3\) must be >= 1 and divide level_dims\[0\] \(8\)/],
    [{ level_dims: [8], level_heads: [2] }, /'enc_level_blocks' needs one block count per level \(2/],
    [{ level_dims: [8], level_heads: [2], enc_level_blocks: [1, 2], dec_level_blocks: [2, 2] }, /'enc_level_blocks' \[1,2\] sums to 3 but 'enc_blocks' is 4/],
    [{ level_dims: [8], level_heads: [2], enc_level_blocks: [2, 2], dec_level_blocks: [2, 2], fusion_level: 2 }, /'fusion_level' must be -1 \(deepest\) or a level 0\.\.1, got 2/],
    [{ level_dims: 8 }, /'level_dims' must be an array of integers >= 0, got 8/],
    [{ level_dims: [0], level_heads: [1] }, /level_dims\[0\] must be >= 1/],
    [{ skip_fusion: 'concat' }, /'skip_fusion' must be one of conv, gated, got 'concat'/],
  ];
  for (const [cfg, re] of bad) {
    assert.throws(() => validateModelConfig(cfg, 'opts.json'), (e: Error) => e instanceof UsageError && e.message.startsWith('opts.json: ') && re.test(e.message), JSON.stringify(cfg));
  }
  assert.equal(sizeMultiple(validateModelConfig({})), 1);
  assert.equal(sizeMultiple(validateModelConfig(U)), 4);
  assert.equal(sizeMultiple(validateModelConfig({ ...U, level_dims: [8, 8, 8], level_heads: [1, 1, 1], enc_level_blocks: [0, 0, 1, 1], dec_level_blocks: [0, 0, 1, 1] })), 8);
  for (const name of ['u2-a', 'u2-b', 'u2-c']) assert.equal(sizeMultiple(validateModelConfig(modelPreset(name))), 4, name);
  assert.throws(() => modelPreset('u9'), /unknown model preset 'u9'; known: v1, u2-a, u2-b, u2-c/);
});

test('FLOPs of the new ops by hand: stride-2 conv, max-pool, nearest up-sampling', () => {
  const ops = new CountOps();
  // [1, 8, 6, 4] -> [1, 4, 3, 5], 2x2 kernel: 2 * 12 outputs * (2*2*4) taps * 5 + 60 bias adds = 1980
  const y = ops.downConv({ shape: [1, 8, 6, 4] }, { shape: [2, 2, 4, 5] }, { shape: [5] });
  assert.deepEqual([y.shape, ops.flops], [[1, 4, 3, 5], 1980]);
  // 3x3 kernel, no bias: 2 * 12 * 36 * 5 = 4320
  ops.flops = 0;
  assert.deepEqual(ops.downConv({ shape: [1, 8, 6, 4] }, { shape: [3, 3, 4, 5] }, null).shape, [1, 4, 3, 5]);
  assert.equal(ops.flops, 4320);
  // [2, 8, 8, 1] pooled by 4: 8 outputs, 15 comparisons each
  ops.flops = 0;
  assert.deepEqual(ops.maxPool({ shape: [2, 8, 8, 1] }, 4).shape, [2, 2, 2, 1]);
  assert.equal(ops.flops, 120);
  ops.flops = 0;
  assert.deepEqual(ops.upsample2x({ shape: [1, 4, 3, 4] }).shape, [1, 8, 6, 4]);
  assert.equal(ops.flops, 0);
});

test('every preset has four blocks per encoder and four in the decoder; the u2 presets cost 3.5-8x fewer FLOPs than v1 at 640x480', () => {
  const v1 = modelCost(validateModelConfig({}), 640, 480).flops;
  assert.ok(Math.abs(v1 / 1e9 - 39.9) < 0.05, `v1: ${v1 / 1e9} GFLOPs`);
  for (const name of Object.keys(MODEL_PRESETS)) {
    const cfg = validateModelConfig(modelPreset(name));
    const names = [...paramShapes(cfg).keys()];
    for (const part of ['enc_vi', 'enc_ir', 'dec']) {
      const n = new Set(names.filter((k) => k.startsWith(`${part}.blocks.`)).map((k) => k.split('.')[2])).size;
      assert.equal(n, 4, `${name}: ${part} has ${n} blocks`);
    }
    const ratio = v1 / modelCost(cfg, 640, 480).flops;
    if (name !== 'v1') assert.ok(ratio >= 3.5 && ratio <= 8, `${name}: ${ratio.toFixed(2)}x below v1`);
  }
});

test('a U model: tfjs-wasm (the trainer\'s kernels) gives the loss and every gradient of tfjs-cpu (relative 1e-3); predict keeps 37x29', async () => {
  const data = syntheticData(3, 24, 20);
  const batch = await new BatchSampler(data.pairs, data.load, { batch: 2, crop: 16, seed: 2 }).next();
  const grads = async (backend: 'cpu' | 'wasm') => {
    await initBackend(backend);
    const model = TesgModel.create({ ...U, skip_fusion: 'gated', bias: true }, 4);
    const g = await localGradients(model, batch, DEFAULT_LOSS_WEIGHTS);
    const arrays = new Map([...g.grads].map(([k, t]) => [k, t.dataSync() as Float32Array]));
    tf.dispose([...g.grads.values()]);
    if (backend === 'wasm') {
      const s = (await import('./helpers/model-fixtures.js')).syntheticSample(37, 29, 1);
      const out = await model.predict({ ir: { width: 37, height: 29, channels: 1, data: s.ir }, vi: { width: 37, height: 29, channels: 3, data: s.vi }, mask: s.sig.mask, embedding: s.sig.embedding, textEncoderId: model.config.text_encoder });
      assert.deepEqual([out.width, out.height, out.channels], [37, 29, 3]);
    }
    model.dispose();
    return { loss: g.losses.total, arrays };
  };
  const cpu = await grads('cpu');
  const wasm = await grads('wasm');
  assert.ok(Math.abs(cpu.loss - wasm.loss) < 1e-5 * Math.max(1, cpu.loss), `loss ${wasm.loss} vs ${cpu.loss}`);
  assert.equal(wasm.arrays.size, cpu.arrays.size);
  for (const [name, want] of cpu.arrays) {
    const got = wasm.arrays.get(name)!;
    let d = 0;
    let n = 0;
    for (let i = 0; i < want.length; i++) {
      d += (got[i] - want[i]) ** 2;
      n += want[i] ** 2;
    }
    assert.ok(Math.sqrt(d) <= 1e-3 * Math.max(Math.sqrt(n), 1e-9), `${name}: relative ${Math.sqrt(d / Math.max(n, 1e-30))}`);
  }
});

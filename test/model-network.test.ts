/**
 * The TeSG network on tfjs-cpu with tiny configs: shapes for odd sizes, eq. 10 with hand-set
 * weights, the ablation switches, weights round trip, text-encoder check, no leaked tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureGradients, tf } from '../src/model/tfjs.js';
import { TesgModel } from '../src/model/model.js';
import { TfOps } from '../src/model/ops-tfjs.js';
import { ParamStore } from '../src/model/params.js';
import { encode, gatedFusion, mgca, tdaf } from '../src/model/network.js';
import { validateModelConfig } from '../src/model/config.js';
import { MismatchError, InputError, UsageError } from '../src/errors.js';
import { AdamW } from '../src/training/adamw.js';
import { BatchSampler } from '../src/training/data.js';
import { localGradients } from '../src/training/trainer.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';
import { syntheticData, syntheticSample, TEXT_ID, TINY } from './helpers/model-fixtures.js';
import type { Image8 } from '../src/image/types.js';

await tf.setBackend('cpu');
await ensureGradients();

function fuseInput(w: number, h: number, seed: number, viChannels: 1 | 3 = 3) {
  const s = syntheticSample(w, h, seed);
  const vi: Image8 = viChannels === 3 ? { width: w, height: h, channels: 3, data: s.vi } : { width: w, height: h, channels: 1, data: s.ir.map((v) => 255 - v) };
  return { ir: { width: w, height: h, channels: 1 as const, data: s.ir }, vi, mask: s.sig.mask, embedding: s.sig.embedding, textEncoderId: TEXT_ID };
}

test('predict keeps odd sizes (13x11, 7x16) and the VI channel count', async () => {
  const m = TesgModel.create(TINY, 1);
  for (const [w, h] of [[13, 11], [7, 16]]) {
    const out = await m.predict(fuseInput(w, h, 3));
    assert.deepEqual([out.width, out.height, out.channels, out.data.length], [w, h, 3, w * h * 3]);
  }
  const gray = await m.predict(fuseInput(9, 5, 4, 1));
  assert.deepEqual([gray.width, gray.height, gray.channels], [9, 5, 1]);
  m.dispose();
});

test('output y: the fused colour keeps VI chroma (Cb, Cr within rounding)', async () => {
  const m = TesgModel.create(TINY, 2);
  const inp = fuseInput(12, 10, 5);
  const out = await m.predict(inp);
  const cb = (d: Uint8Array, i: number) => 0.564 * (d[3 * i + 2] - (0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2]));
  let worst = 0;
  for (let i = 0; i < 120; i++) {
    // skip pixels where the recoloured RGB had to be clipped to 0..255
    const px = Array.from(out.data.subarray(3 * i, 3 * i + 3));
    if (px.some((v) => v === 0 || v === 255)) continue;
    worst = Math.max(worst, Math.abs(cb(out.data, i) - cb(inp.vi.data, i)));
  }
  assert.ok(worst < 1.5, `Cb differs by ${worst} levels`);
  m.dispose();
});

test('eq. 10 numerically: F = alpha (1+Gv)(Fv+Fvi) + (1-alpha)(1+Gi)(Fi+Fiv)', () => {
  const ops = new TfOps(new ParamStore('create'));
  const [a, gv, gi, sv, si] = [0.25, 0.5, 0.1, 2, -4];
  const f = tf.tidy(() => gatedFusion(ops, tf.scalar(a), tf.scalar(gv), tf.scalar(gi), tf.scalar(sv), tf.scalar(si)).dataSync()[0]);
  // 0.25 * 1.5 * 2 + 0.75 * 1.1 * (-4) = 0.75 - 3.3 = -2.55
  assert.ok(Math.abs(f - -2.55) < 1e-6);
});

test('TDAF with alpha = 1 and G_v = 0 (hand-set weights) gives F = F_v + F_vi', () => {
  const m = TesgModel.create(TINY, 3);
  const store = m.params;
  const c = m.config.dim;
  // fc2 weight 0, bias +40 -> alpha = sigmoid(40) = 1; gate_v weight 0, bias -40 -> G_v = sigmoid(-40) ~ 4e-18
  store.set('tdaf.sa.fc2.weight', { shape: [1, 1, c, 1], data: new Float32Array(c) });
  store.set('tdaf.sa.fc2.bias', { shape: [1], data: Float32Array.of(40) });
  store.set('tdaf.gate_v.weight', { shape: [1, 1, c, c], data: new Float32Array(c * c) });
  store.set('tdaf.gate_v.bias', { shape: [c], data: new Float32Array(c).fill(-40) });
  const ops = new TfOps(store);
  const ctx = { ops, cfg: m.config };
  const s = syntheticSample(8, 6, 1);
  const [f, want] = tf.tidy(() => {
    const inp = {
      ir: tf.tensor4d(Float32Array.from(s.ir, (v) => v / 255), [1, 6, 8, 1]),
      vi: tf.tensor4d(Float32Array.from(s.vi, (v) => v / 255), [1, 6, 8, 3]),
      mask: tf.tensor4d(Float32Array.from(s.sig.mask.data), [1, 6, 8, 1]),
      text: tf.tensor3d(s.sig.embedding, [1, 77, 64]),
    };
    const e = encode(ctx, inp);
    const { fvi, fiv } = mgca(ctx, inp, e);
    return [tdaf(ctx, e, fvi, fiv, inp.text).dataSync(), tf.add(e.fv, fvi).dataSync()];
  });
  let d = 0;
  for (let i = 0; i < f.length; i++) d = Math.max(d, Math.abs(f[i] - want[i]));
  assert.ok(d < 1e-5, `max diff ${d}`);
  m.dispose();
});

test('ablation switches remove exactly their modules from the parameter set', () => {
  const names = (o: object) => {
    const m = TesgModel.create({ ...TINY, ...o });
    const n = new Set(m.params.vars.keys());
    m.dispose();
    return n;
  };
  const full = names({});
  const prefixes = (s: Set<string>) => new Set([...s].map((n) => n.split('.').slice(0, 2).join('.')));
  const has = (s: Set<string>, p: string) => [...s].some((n) => n.startsWith(p));
  for (const p of ['mgca.vi_fg', 'mgca.vi_bg', 'mgca.iv_fg', 'mgca.iv_bg', 'tdaf.tivr', 'tdaf.gate_v', 'tdaf.gate_i', 'tdaf.sa']) assert.ok(has(full, p), p);
  const noMgca = names({ use_mgca: false });
  assert.deepEqual([...prefixes(noMgca)].filter((p) => p.startsWith('mgca')).sort(), ['mgca.iv', 'mgca.vi']);
  const noTivr = names({ use_tivr: false });
  assert.deepEqual([...full].filter((n) => !noTivr.has(n)).every((n) => n.startsWith('tdaf.tivr.')), true);
  assert.ok(!has(noTivr, 'tdaf.tivr') && has(noTivr, 'tdaf.proj_in'));
  const noGaf = names({ use_gaf: false });
  assert.deepEqual([...full].filter((n) => !noGaf.has(n)).map((n) => n.split('.').slice(0, 2).join('.')).filter((v, i, a) => a.indexOf(v) === i).sort(), ['tdaf.gate_i', 'tdaf.gate_v', 'tdaf.sa']);
  // masks on images instead of features: same parameters (shared encoders), different outputs
  assert.deepEqual([...names({ mask_on: 'image' })].sort(), [...full].sort());
});

test('the mask changes the output with MGCA and does not without it', async () => {
  for (const [use_mgca, changes] of [[true, true], [false, false]] as const) {
    const m = TesgModel.create({ ...TINY, use_mgca }, 4);
    const a = fuseInput(10, 8, 6);
    const b = { ...a, mask: { ...a.mask, data: new Uint8Array(80) } };
    const [oa, ob] = [await m.predict(a), await m.predict(b)];
    assert.equal(oa.data.some((v, i) => v !== ob.data[i]), changes, `use_mgca ${use_mgca}`);
    m.dispose();
  }
});

test('weights save/load round trip is exact, config included; bad files are refused', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-model-'));
  try {
    const m = TesgModel.create({ ...TINY, layer_norm: 'bias_free', use_tivr: false }, 5);
    const file = path.join(dir, 'w.safetensors');
    await m.save(file);
    const l = await TesgModel.load(file);
    assert.deepEqual(l.config, m.config);
    const [wa, wb] = [await m.params.toArrays(), await l.params.toArrays()];
    assert.deepEqual([...wa.keys()], [...wb.keys()]);
    for (const [k, v] of wa) assert.deepEqual(wb.get(k)!.data, v.data, k);
    const inp = fuseInput(9, 7, 7);
    assert.deepEqual((await l.predict(inp)).data, (await m.predict(inp)).data);
    // truncated file, and a config that does not match the weights
    const bytes = readFileSync(file);
    writeFileSync(path.join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 10));
    await assert.rejects(TesgModel.load(path.join(dir, 'cut.safetensors')), InputError);
    const tf2 = await m.toTensorFile();
    tf2.metadata.tesg_config = JSON.stringify({ ...m.config, dim: 16 });
    assert.throws(() => TesgModel.fromTensorFile(tf2, 'x.safetensors'), InputError);
    m.dispose();
    l.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a different text encoder is refused with a clear error; unknown config keys too', async () => {
  const m = TesgModel.create(TINY);
  await assert.rejects(m.predict({ ...fuseInput(8, 8, 1), textEncoderId: 'clip-vit-l-14' }), MismatchError);
  await assert.rejects(m.predict({ ...fuseInput(8, 8, 1), embedding: new Float32Array(77 * 768) }), MismatchError);
  assert.throws(() => validateModelConfig({ dims: 8 }), UsageError);
  assert.throws(() => validateModelConfig({ dim: 10, heads: 4 }), UsageError);
  m.dispose();
});

test('no tensors leak across predict and a training step', async () => {
  const m = TesgModel.create(TINY, 6);
  const adam = new AdamW();
  const data = syntheticData(2, 16, 16);
  const sampler = new BatchSampler(data.pairs, data.load, { batch: 2, crop: 16, seed: 1 });
  const step = async () => {
    const { grads } = await localGradients(m, await sampler.next(), DEFAULT_LOSS_WEIGHTS);
    adam.step(m.params.vars, grads);
    tf.dispose([...grads.values()]);
  };
  await step(); // creates the AdamW moments
  await m.predict(fuseInput(11, 9, 2));
  const before = tf.memory().numTensors;
  await m.predict(fuseInput(11, 9, 2));
  await step();
  assert.equal(tf.memory().numTensors, before);
  adam.dispose();
  m.dispose();
});

test('parameter init is seeded and per name', () => {
  const a = TesgModel.create(TINY, 9), b = TesgModel.create(TINY, 9), c = TesgModel.create(TINY, 10);
  const w = (m: TesgModel) => m.params.vars.get('enc_ir.embed.weight')!.dataSync();
  assert.deepEqual(w(a), w(b));
  assert.notDeepEqual(w(a), w(c));
  for (const m of [a, b, c]) m.dispose();
});

/**
 * AdamW against two steps computed by hand, the RNG's determinism and state round trip, and the
 * batch sampler's crops, flips and resumable state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/model/tfjs.js';
import { AdamW } from '../src/training/adamw.js';
import { Rng } from '../src/training/rng.js';
import { BatchSampler } from '../src/training/data.js';
import { syntheticData } from './helpers/model-fixtures.js';

await tf.setBackend('cpu');

test('AdamW: two steps equal the hand-computed torch.optim.AdamW update', () => {
  const p = tf.variable(tf.tensor1d([1, -2]));
  const params = new Map([['w', p]]);
  const opt = new AdamW({ lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const step = (g: number[]) => {
    const grads = new Map([['w', tf.tensor1d(g)]]);
    opt.step(params, grads);
    tf.dispose([...grads.values()]);
  };
  step([0.5, 0.5]);
  // p <- p (1 - 0.1 * 0.01); m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25; p -= 0.1 * 0.5 / (0.5 + 1e-8)
  // w0: 0.999 - 0.1 = 0.899; w1: -1.998 - 0.1 = -2.098
  const s1 = p.dataSync();
  assert.ok(Math.abs(s1[0] - 0.899) < 1e-6 && Math.abs(s1[1] + 2.098) < 1e-6, String(s1));
  step([-0.25, 0]);
  // m = 0.045 - 0.025 = 0.02 (w0), 0.045 (w1); v = 0.00024975 + 0.0000625 = 0.00031225 (w0), 0.00024975 (w1)
  // m^ = m / 0.19; v^ = v / 0.001999
  const expect = (p0: number, m: number, v: number) => p0 * (1 - 0.001) - (0.1 * (m / 0.19)) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
  const s2 = p.dataSync();
  assert.ok(Math.abs(s2[0] - expect(0.899, 0.02, 0.00031225)) < 1e-6, `${s2[0]} vs ${expect(0.899, 0.02, 0.00031225)}`);
  assert.ok(Math.abs(s2[1] - expect(-2.098, 0.045, 0.00024975)) < 1e-6);
  opt.dispose();
  p.dispose();
});

test('AdamW: moments round-trip through toArrays/load', async () => {
  const p = tf.variable(tf.tensor1d([1, 2, 3]));
  const opt = new AdamW();
  const g = new Map([['w', tf.tensor1d([0.1, -0.2, 0.3])]]);
  opt.step(new Map([['w', p]]), g);
  const arrays = await opt.toArrays();
  const copy = new AdamW();
  copy.load(arrays, opt.t);
  assert.deepEqual([...(await copy.toArrays()).entries()].map(([k, v]) => [k, Array.from(v.data)]), [...arrays.entries()].map(([k, v]) => [k, Array.from(v.data)]));
  tf.dispose([...g.values(), p]);
  opt.dispose();
  copy.dispose();
});

test('RNG: same seed same stream; a restored state continues the stream', () => {
  const a = Rng.fromSeed(42);
  const b = Rng.fromSeed(42);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => Rng.fromSeed(43).nextU32()));
  const c = Rng.fromState(a.state());
  assert.deepEqual(Array.from({ length: 5 }, () => a.next()), Array.from({ length: 5 }, () => c.next()));
  const perm = Rng.fromSeed(1).permutation(10);
  assert.deepEqual([...perm].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('sampler: crops are windows of the source (flipped or not); a restored state gives the same batches', async () => {
  const data = syntheticData(3, 20, 18);
  const s = new BatchSampler(data.pairs, data.load, { batch: 2, crop: 8, seed: 7 });
  const b1 = await s.next();
  assert.equal(b1.ir.length, 2 * 64);
  assert.equal(b1.vi.length, 2 * 64 * 3);
  assert.equal(b1.text.length, 2 * 77 * 64);
  // every crop's IR values exist in its source; the mask is 0/1
  const src = await data.load(data.pairs[Number(b1.stems[0].slice(1))]);
  const values = new Set(Array.from(src.ir, (v) => Math.fround(v / 255)));
  assert.ok(Array.from(b1.ir.subarray(0, 64)).every((v) => values.has(v)));
  assert.ok(Array.from(b1.mask).every((v) => v === 0 || v === 1));
  const state = s.state();
  const next = [await s.next(), await s.next()];
  const r = new BatchSampler(data.pairs, data.load, { batch: 2, crop: 8, seed: 999 }, state);
  for (const want of next) {
    const got = await r.next();
    assert.deepEqual(got.stems, want.stems);
    assert.deepEqual(got.ir, want.ir);
    assert.deepEqual(got.vi, want.vi);
  }
});

test('tesg train --loss-weights: any subset overrides the defaults; bad names are a UsageError', async () => {
  const { parseLossWeights } = await import('../src/cli/commands/train.js');
  const { UsageError } = await import('../src/errors.js');
  assert.deepEqual(parseLossWeights(undefined), { ssim: 1, intensity: 4, gradient: 10, color: 12 });
  assert.deepEqual(parseLossWeights('gradient=5,color=0'), { ssim: 1, intensity: 4, gradient: 5, color: 0 });
  assert.throws(() => parseLossWeights('grad=5'), UsageError);
  assert.throws(() => parseLossWeights('ssim=-1'), UsageError);
});

test('--augment-gamma: each crop is its source through one gamma per modality, in range; same crops as without it; resumable', async () => {
  const { parseGammaAugment } = await import('../src/training/augment.js');
  const { UsageError } = await import('../src/errors.js');
  const augment = parseGammaAugment('ir=0.25:1,vi=0.5');
  assert.deepEqual(augment, { ir: [0.25, 1], vi: [0.5, 1] });
  assert.deepEqual(parseGammaAugment('vi=0.5:2'), { ir: [1, 1], vi: [0.5, 2] });
  for (const bad of ['ir=0', 'ir=1:0.5', 'nir=0.5', 'ir', 'ir=x']) assert.throws(() => parseGammaAugment(bad), UsageError, bad);

  const data = syntheticData(3, 16, 12);
  const plain = new BatchSampler(data.pairs, data.load, { batch: 2, crop: 8, seed: 7 });
  const aug = new BatchSampler(data.pairs, data.load, { batch: 2, crop: 8, seed: 7, augment });
  const p = await plain.next();
  const a = await aug.next();
  // the gamma draws come after the crop and flips: the first sample is the same crop
  assert.equal(a.stems[0], p.stems[0]);
  // one gamma per sample and modality: log(a) / log(p) is constant over the crop's pixels in (0, 1)
  const gammaOf = (got: Float32Array, base: Float32Array): number[] => {
    const g: number[] = [];
    for (let i = 0; i < base.length; i++) if (base[i] > 0.02 && base[i] < 0.98) g.push(Math.log(got[i]) / Math.log(base[i]));
    return g;
  };
  const gIr = gammaOf(a.ir.subarray(0, 64), p.ir.subarray(0, 64));
  const gVi = gammaOf(a.vi.subarray(0, 192), p.vi.subarray(0, 192));
  assert.ok(gIr.length > 10 && gVi.length > 10);
  for (const [g, [lo, hi]] of [[gIr, augment.ir], [gVi, augment.vi]] as const) {
    assert.ok(Math.max(...g) - Math.min(...g) < 1e-4, `one gamma per crop: ${Math.min(...g)}..${Math.max(...g)}`);
    assert.ok(g[0] >= lo - 1e-4 && g[0] <= hi + 1e-4 && g[0] < 0.999, `gamma ${g[0]} in [${lo}, ${hi}]`);
  }
  // a resumed sampler draws the same augmented crops
  const state = aug.state();
  const want = await aug.next();
  const got = await new BatchSampler(data.pairs, data.load, { batch: 2, crop: 8, seed: 999, augment }, state).next();
  assert.deepEqual(got.ir, want.ir);
  assert.deepEqual(got.vi, want.vi);
});

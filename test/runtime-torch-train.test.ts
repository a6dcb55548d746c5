/**
 * The whole network and training step on libtorch against tfjs-cpu, on tiny configurations: the
 * same weights give the same output (1e-4), the same loss and parameter gradients (relative 1e-3,
 * also through micro-batch accumulation), weights and AdamW moments move between the two trainers
 * through a checkpoint unchanged, a step leaks no tensor handles, steps lower the loss, and the
 * trainer with libtorch gradients follows the tfjs run and resumes exactly.
 * Skipped, with the reason, where the addon is not built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModelConfig } from '../src/model/config.js';
import { TesgModel } from '../src/model/model.js';
import { AdamW, DEFAULT_ADAMW } from '../src/training/adamw.js';
import { loadCheckpoint, saveCheckpoint } from '../src/training/checkpoint.js';
import { BatchSampler } from '../src/training/data.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';
import { batchTensors, DEFAULT_TRAIN_OPTIONS, train, type TrainOptions } from '../src/training/trainer.js';
import { tf } from '../src/model/tfjs.js';
import { TorchTrainStep } from '../src/training/torch-step.js';
import { torchGradients } from '../src/training/torch-gradients.js';
import { WEIGHTS_FILE } from '../src/training/checkpoint.js';
import { randomFloats, syntheticData, TINY } from './helpers/model-fixtures.js';
import { batchOf, forwardParity, gradientParity, maxAbs, relNorm, torchAndTfjsCpu } from './helpers/torch-parity.js';

const { skip, torch } = await torchAndTfjsCpu();

const VARIANTS: Record<string, Partial<ModelConfig>> = {
  default: TINY,
  'image masks, rgb output, bias-free norm, biases': { ...TINY, mask_on: 'image', output: 'rgb', layer_norm: 'bias_free', bias: true },
  'ablations a+b+c, Y input, 1 head': { ...TINY, heads: 1, use_mgca: false, use_tivr: false, use_gaf: false, vi_input: 'y' },
};

for (const [label, cfg] of Object.entries(VARIANTS)) {
  test(`network forward (${label}): torch equals tfjs-cpu with the same weights (1e-4)`, { skip }, async () => {
    const [b, h, w] = [2, 12, 10];
    const r = await forwardParity(torch!, cfg, [b, h, w], 0);
    assert.deepEqual(r.shape, [b, h, w, r.config.output === 'rgb' ? 3 : 1]);
    const d = maxAbs(r.torch, r.tfjs);
    assert.ok(d < 1e-4, `max |torch - tfjs| = ${d}`);
    assert.deepEqual(r.torchParams, r.tfjsParams);
  });
}

for (const label of ['default', 'image masks, rgb output, bias-free norm, biases'] as const) {
  test(`loss and every parameter gradient (${label}): torch (2 micro-batches) equals tfjs-cpu (relative 1e-3)`, { skip }, async () => {
    const model = TesgModel.create(VARIANTS[label], 5);
    const { tfjs, torch: tg } = await gradientParity(torch!, model, await batchOf(2, 16, 9));
    model.dispose();
    for (const k of ['total', 'ssim', 'intensity', 'gradient', 'color'] as const) {
      assert.ok(Math.abs(tg.losses[k] - tfjs.losses[k]) <= 1e-5 * Math.max(1, Math.abs(tfjs.losses[k])), `${k}: torch ${tg.losses[k]}, tfjs ${tfjs.losses[k]}`);
    }
    let normSq = 0;
    for (const [name, want] of tfjs.grads) {
      for (const x of want) normSq += x * x;
      const got = tg.grads.get(name);
      assert.ok(got, `${name}: no torch gradient`);
      const d = relNorm(got, want);
      assert.ok(d < 1e-3, `${name}: gradients differ by ${d} (relative)`);
    }
    assert.ok(Math.abs(tg.gradNorm - Math.sqrt(normSq)) < 1e-3 * Math.sqrt(normSq), `gradient norm ${tg.gradNorm} vs ${Math.sqrt(normSq)}`);
    assert.equal(tfjs.grads.size, tg.grads.size);
  });
}

test('distillation (--teacher): the teacher term adds w * mean((Y_F - Y_teacher)^2) on both backends, with the same gradients (relative 1e-3)', { skip }, async () => {
  const model = TesgModel.create(VARIANTS.default, 5);
  try {
    const batch = await batchOf(2, 16, 9);
    const teacher = Float32Array.from(randomFloats(2 * 16 * 16, 11), (v) => 0.5 + 0.4 * v);
    const plain = await gradientParity(torch!, model, batch);
    const w = { ...DEFAULT_LOSS_WEIGHTS, teacher: 5 };
    const { tfjs, torch: tg } = await gradientParity(torch!, model, { ...batch, teacher }, w);
    // the paper's terms are unchanged; the total grows by the teacher term, the same on both backends
    for (const k of ['ssim', 'intensity', 'gradient', 'color'] as const) assert.equal(tfjs.losses[k], plain.tfjs.losses[k]);
    const added = tfjs.losses.total - plain.tfjs.losses.total;
    const inp = batchTensors(batch, model.config);
    const out = model.forward({ ir: inp.ir, vi: inp.vi, mask: inp.mask, text: inp.text });
    const y = out.dataSync() as Float32Array;
    tf.dispose([out, ...Object.values(inp)]);
    const mse = y.reduce((sum, v, i) => sum + (v - teacher[i]) ** 2, 0) / y.length;
    assert.ok(Math.abs(added - 5 * mse) < 1e-4 * 5 * mse, `the total grows by ${added}, 5 * mse = ${5 * mse}`);
    // the unweighted term as logged (train-log.csv's teacher column), the same on both backends
    assert.ok(Math.abs(tfjs.losses.teacher! - mse) < 1e-4 * mse && Math.abs(tg.losses.teacher! - mse) < 1e-4 * mse, `teacher term: tfjs ${tfjs.losses.teacher}, torch ${tg.losses.teacher}, mse ${mse}`);
    assert.ok(Math.abs(tg.losses.total - tfjs.losses.total) <= 1e-5 * tfjs.losses.total, `total: torch ${tg.losses.total}, tfjs ${tfjs.losses.total}`);
    let changed = 0;
    for (const [name, want] of tfjs.grads) {
      const d = relNorm(tg.grads.get(name)!, want);
      assert.ok(d < 1e-3, `${name}: gradients differ by ${d} (relative)`);
      if (relNorm(want, plain.tfjs.grads.get(name)!) > 1e-3) changed++;
    }
    assert.ok(changed > tfjs.grads.size / 2, `the teacher term moves most gradients (${changed} of ${tfjs.grads.size})`);
  } finally {
    model.dispose();
  }
});

test('torch steps leak no handles, lower the loss, and checkpoint into the tfjs trainer unchanged', { skip }, async () => {
  const t = torch!;
  const model = TesgModel.create(TINY, 1);
  const batch = await batchOf(2, 16, 4);
  const opts = { ...DEFAULT_ADAMW, lr: 3e-3 };
  const step = TorchTrainStep.create({ config: model.config, weights: await model.params.toArrays(), adam: opts }, t);
  const live = t.liveTensors();
  const first = step.gradients(batch, DEFAULT_LOSS_WEIGHTS).losses.total;
  step.update();
  const afterOne = t.liveTensors();
  assert.equal(afterOne, live + 2 * step.params.vars.size, 'one step adds exactly the AdamW moments');
  let last = first;
  for (let i = 0; i < 14; i++) {
    last = step.gradients(batch, DEFAULT_LOSS_WEIGHTS).losses.total;
    step.update();
  }
  assert.equal(t.liveTensors(), afterOne, 'tensor handles leaked across steps');
  assert.ok(last < 0.9 * first, `15 steps on one batch: loss ${first} -> ${last}`);

  // torch -> tfjs model + AdamW -> checkpoint file -> torch again
  const dir = await mkdtemp(path.join(tmpdir(), 'tesg-torch-'));
  try {
    for (const [name, a] of step.weights()) model.params.set(name, a);
    const adam = new AdamW(opts);
    adam.load(step.momentArrays(), step.t);
    await saveCheckpoint(dir, model, adam, {
      step: step.t,
      sampler: new BatchSampler(syntheticData(1, 24, 20).pairs, async () => { throw new Error('unused'); }, { batch: 2, crop: 16, seed: 0 }).state(),
      adam: { t: step.t, opts },
      lossWeights: DEFAULT_LOSS_WEIGHTS, batch: 2, crop: 16, seed: 0, elapsedSec: 0,
    });
    const loaded = await loadCheckpoint(dir);
    const back = TorchTrainStep.create(
      { config: loaded.model.config, weights: await loaded.model.params.toArrays(), adam: loaded.adam.opts, adamT: loaded.adam.t, adamArrays: await loaded.adam.toArrays() },
      t,
    );
    assert.equal(back.t, 15);
    for (const [name, a] of step.weights()) assert.deepEqual(back.weights().get(name)!.data, a.data, name);
    const m0 = step.momentArrays();
    const m1 = back.momentArrays();
    assert.equal(m1.size, m0.size);
    for (const [k, a] of m0) assert.deepEqual(m1.get(k)!.data, a.data, k);
    // the next step from the reloaded state equals the next step of the original
    const a1 = step.gradients(batch, DEFAULT_LOSS_WEIGHTS).losses.total;
    const b1 = back.gradients(batch, DEFAULT_LOSS_WEIGHTS).losses.total;
    assert.equal(a1, b1);
    back.dispose();
    loaded.model.dispose();
    loaded.adam.dispose();
    adam.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  step.dispose();
  model.dispose();
});

test('the trainer with torch gradients (1 or 2 replicas): the tfjs run\'s losses step by step (1e-4), and resume on torch is exact', { skip }, async () => {
  const t = torch!;
  const dirs = [0, 1, 2, 3].map(() => mkdtempSync(path.join(tmpdir(), 'tesg-torch-train-')));
  const data = syntheticData(3, 20, 18);
  const opts = (outDir: string, o: Partial<TrainOptions> = {}): TrainOptions => ({
    ...DEFAULT_TRAIN_OPTIONS, outDir, steps: 4, checkpointEvery: 2, batch: 2, microBatch: 2, crop: 16, seed: 3, model: TINY,
    resume: false, tty: false, write: () => {}, ...o,
  });
  const losses = (d: string) =>
    readFileSync(path.join(d, 'train-log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1, 6).map(Number));
  try {
    await train(opts(dirs[0], { gradients: torchGradients({ microBatch: 1 }, t) }), data);
    await train(opts(dirs[1]), data);
    const [a, b] = [losses(dirs[0]), losses(dirs[1])];
    assert.equal(a.length, 4);
    for (let s = 0; s < 4; s++) {
      for (let k = 0; k < 5; k++) assert.ok(Math.abs(a[s][k] - b[s][k]) <= 1e-4 * Math.max(1, Math.abs(b[s][k])), `step ${s + 1}, column ${k}: torch ${a[s][k]}, tfjs ${b[s][k]}`);
    }
    // two replicas (a worker thread computes half of each batch)
    await train(opts(dirs[3], { gradients: torchGradients({ replicas: 2 }, t) }), data);
    const c = losses(dirs[3]);
    for (let s = 0; s < 4; s++) assert.ok(Math.abs(c[s][0] - b[s][0]) <= 1e-4 * Math.abs(b[s][0]), `2 replicas, step ${s + 1}: ${c[s][0]} vs ${b[s][0]}`);
    await train(opts(dirs[2], { steps: 2, gradients: torchGradients({ microBatch: 1 }, t) }), data);
    await train(opts(dirs[2], { steps: 4, resume: true, gradients: torchGradients({ microBatch: 1 }, t) }), data);
    assert.ok(readFileSync(path.join(dirs[0], WEIGHTS_FILE)).equals(readFileSync(path.join(dirs[2], WEIGHTS_FILE))), 'resumed torch run differs');
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

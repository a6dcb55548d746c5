/**
 * The training loop on tfjs-cpu with a tiny config and in-memory 20x18 pairs: exact resume,
 * NaN stop keeping the last good checkpoint, refusal to overwrite, the CSV log, and a short
 * overfit run whose loss goes down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/runtime/backend.js';
import { TrainingError, UsageError } from '../src/errors.js';
import { TesgModel } from '../src/model/model.js';
import { CHECKPOINT_FILE, loadCheckpoint, WEIGHTS_FILE } from '../src/training/checkpoint.js';
import { accumulatedGradients, DEFAULT_TRAIN_OPTIONS, localGradients, train, type TrainOptions } from '../src/training/trainer.js';
import { BatchSampler } from '../src/training/data.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';
import { syntheticData, TINY } from './helpers/model-fixtures.js';

await initBackend('wasm');

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'tesg-train-'));
const quiet = { tty: false, write: () => {} };
const opts = (outDir: string, o: Partial<TrainOptions> = {}): TrainOptions => ({
  ...DEFAULT_TRAIN_OPTIONS,
  outDir,
  steps: 4,
  checkpointEvery: 2,
  batch: 2,
  crop: 16,
  seed: 3,
  model: TINY,
  resume: false,
  ...quiet,
  ...o,
});

const sameWeights = (a: string, b: string) => readFileSync(path.join(a, WEIGHTS_FILE)).equals(readFileSync(path.join(b, WEIGHTS_FILE)));

// No retry: every step here is deterministic by construction (one XNNPACK thread, so every reduction
// has one order; seeded crops; no timing-dependent kernel choice; every custom kernel writes all of
// its output), so any mismatch is a bug. 50 repetitions (two processes at once, load 13-16) were all
// bit-identical (issue 13, item 6). On a mismatch a second straight run says which kind of bug it is.
test('4 steps straight = 2 steps + resume 2 (weights, optimizer and log identical)', async () => {
  assert.equal(getThreadsCount(), 1, 'bit-exact resume assumes one XNNPACK thread (src/runtime/backend.ts)');
  const [a, b] = [tmp(), tmp()];
  const data = syntheticData(3, 20, 18);
  try {
    await train(opts(a), data);
    await train(opts(b, { steps: 2 }), data);
    await train(opts(b, { steps: 4, resume: true }), data);
    if (!sameWeights(a, b)) {
      const again = tmp();
      await train(opts(again), data);
      const repeatable = sameWeights(a, again);
      rmSync(again, { recursive: true, force: true });
      assert.fail(repeatable
        ? 'weights differ: two straight runs agree, the resumed one does not (a resume bug)'
        : 'weights differ: two straight runs differ from each other too (nondeterministic kernels, not resume)');
    }
    // checkpoints differ only in elapsed time; compare the tensors
    const ma = await TesgModel.load(path.join(a, CHECKPOINT_FILE));
    const mb = await TesgModel.load(path.join(b, CHECKPOINT_FILE));
    for (const [k, v] of await ma.params.toArrays()) assert.deepEqual((await mb.params.toArrays()).get(k)!.data, v.data);
    ma.dispose();
    mb.dispose();
    // The state in the checkpoint (step, sampler RNG, AdamW t) matches too; only elapsedSec may differ
    // (its JSON length varies with the digits, so the files' byte lengths are not compared).
    const [sa, sb] = await Promise.all([loadCheckpoint(a), loadCheckpoint(b)]);
    assert.deepEqual({ ...sb.state, elapsedSec: 0 }, { ...sa.state, elapsedSec: 0 });
    for (const c of [sa, sb]) {
      c.model.dispose();
      c.adam.dispose();
    }
    const rows = (d: string) => readFileSync(path.join(d, 'train-log.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, 7).join(','));
    assert.equal(rows(a).length, 5);
    assert.deepEqual(rows(a), rows(b));
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('a NaN input stops with TrainingError and leaves the last good checkpoint as it was', async () => {
  const dir = tmp();
  try {
    await train(opts(dir, { steps: 2 }), syntheticData(2, 20, 18));
    const before = readFileSync(path.join(dir, CHECKPOINT_FILE));
    const poisoned = syntheticData(2, 20, 18, new Float32Array(77 * 64).fill(NaN));
    await assert.rejects(train(opts(dir, { steps: 4, resume: true }), poisoned), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.match((err as Error).message, /step 3: loss is NaN.*last good checkpoint \(step 2\)/);
      return true;
    });
    assert.ok(readFileSync(path.join(dir, CHECKPOINT_FILE)).equals(before));
    // and a fresh run into a folder with a checkpoint is refused rather than overwriting it
    await assert.rejects(train(opts(dir, { steps: 2 }), syntheticData(2, 20, 18)), UsageError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overfitting one pair: the loss goes down', async () => {
  const dir = tmp();
  try {
    const r = await train(opts(dir, { steps: 40, checkpointEvery: 40, batch: 1, lr: 3e-3, model: { ...TINY, dim: 8 } }), syntheticData(1, 16, 16));
    const losses = readFileSync(path.join(dir, 'train-log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
    assert.equal(losses.length, 40);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    assert.ok(last < 0.8 * first, `loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
    assert.equal(r.step, 40);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('micro-batches: averaged gradients of 2 x 2 samples = gradients of the batch of 4', async () => {
  const m = TesgModel.create(TINY, 1);
  const data = syntheticData(4, 20, 18);
  const batch = await new BatchSampler(data.pairs, data.load, { batch: 4, crop: 16, seed: 2 }).next();
  const whole = await accumulatedGradients(localGradients, m, batch, DEFAULT_LOSS_WEIGHTS, 4);
  const split = await accumulatedGradients(localGradients, m, batch, DEFAULT_LOSS_WEIGHTS, 2);
  assert.ok(Math.abs(whole.losses.total - split.losses.total) < 1e-5 * Math.abs(whole.losses.total));
  let worst = 0;
  for (const [name, g] of whole.grads) {
    const a = g.dataSync(), b = split.grads.get(name)!.dataSync();
    const scale = Math.max(1e-3, ...Array.from(a, Math.abs));
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  }
  assert.ok(worst < 1e-3, `relative difference ${worst}`);
  for (const g of [whole, split]) for (const t of g.grads.values()) t.dispose();
  m.dispose();
});

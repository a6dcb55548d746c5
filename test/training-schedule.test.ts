/**
 * The lr schedule of `tesg train` (src/training/schedule.ts): the formula at chosen steps, the lr
 * column of train-log.csv of a real (tiny, tfjs) run, and a run resumed across the warm-up boundary
 * that takes the same lrs and reaches the same weights as the straight run; the SIG record of a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../src/errors.js';
import { initBackend } from '../src/runtime/backend.js';
import { loadCheckpoint, WEIGHTS_FILE } from '../src/training/checkpoint.js';
import { readTensorFile } from '../src/model/safetensors.js';
import { lrAt, validateSchedule, type LrSchedule } from '../src/training/schedule.js';
import { DEFAULT_TRAIN_OPTIONS, train, type TrainOptions } from '../src/training/trainer.js';
import { syntheticData, TINY } from './helpers/model-fixtures.js';

await initBackend('wasm');

const cos: LrSchedule = { kind: 'cosine', baseLr: 1e-3, warmupSteps: 4, minLr: 1e-5, totalSteps: 12 };

test('lrAt: linear warm-up, then cosine to min-lr at totalSteps, then min-lr', () => {
  // warm-up: 1e-3 * t / 4
  assert.equal(lrAt(cos, 1), 2.5e-4);
  assert.equal(lrAt(cos, 2), 5e-4);
  assert.equal(lrAt(cos, 4), 1e-3);
  // p = (t - 4) / 8: t = 6 -> p = 1/4, lr = 1e-5 + 0.99e-3 * (1 + cos(pi/4)) / 2 = 8.550178e-4
  assert.ok(Math.abs(lrAt(cos, 6) - 8.5501782e-4) < 1e-10, String(lrAt(cos, 6)));
  // t = 8: p = 1/2, half way: 1e-5 + 0.99e-3 / 2
  assert.ok(Math.abs(lrAt(cos, 8) - 5.05e-4) < 1e-12);
  assert.ok(Math.abs(lrAt(cos, 12) - 1e-5) < 1e-15);
  assert.equal(lrAt(cos, 20), lrAt(cos, 12));
  // constant without warm-up is the lr itself (v1's runs stay bit-identical); with warm-up it ramps
  const constant: LrSchedule = { kind: 'constant', baseLr: 1e-4, warmupSteps: 0, minLr: 1e-6, totalSteps: 0 };
  for (const t of [1, 2, 1000]) assert.equal(lrAt(constant, t), 1e-4);
  assert.equal(lrAt({ ...constant, warmupSteps: 10 }, 5), 5e-5);
  assert.equal(lrAt({ ...constant, warmupSteps: 10 }, 11), 1e-4);
});

test('validateSchedule names the flag at fault', () => {
  assert.throws(() => validateSchedule({ ...cos, warmupSteps: 12 }), (e: unknown) => e instanceof UsageError && /--warmup-steps 12/.test((e as Error).message));
  assert.throws(() => validateSchedule({ ...cos, minLr: 2e-3 }), /--min-lr/);
  assert.throws(() => validateSchedule({ ...cos, kind: 'step' as never }), /--lr-schedule/);
  assert.throws(() => validateSchedule({ ...cos, warmupSteps: 1.5 }), /--warmup-steps/);
});

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'tesg-schedule-'));
const opts = (outDir: string, o: Partial<TrainOptions> = {}): TrainOptions => ({
  ...DEFAULT_TRAIN_OPTIONS,
  outDir,
  steps: 6,
  checkpointEvery: 2,
  batch: 2,
  crop: 16,
  seed: 5,
  lr: 2e-3,
  model: TINY,
  resume: false,
  tty: false,
  write: () => {},
  schedule: { kind: 'cosine', warmupSteps: 3, minLr: 1e-5 },
  ...o,
});
const logged = (d: string) => readFileSync(path.join(d, 'train-log.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

test('a cosine run logs the formula\'s lr per step; resumed at step 2 (inside the warm-up) it takes the same lrs, clipping and weights', async () => {
  const [a, b] = [tmp(), tmp()];
  try {
    const data = syntheticData(3, 20, 18);
    await train(opts(a, { clipGradNorm: 1 }), data); // the tiny model's norms are 5-10: every step is clipped
    // the first part stops at step 2 but its decay ends at 6 (--schedule-steps), as a run killed at step 2 would
    await train(opts(b, { steps: 2, scheduleSteps: 6, clipGradNorm: 1 }), data);
    // the checkpoint's schedule and clipping rule on resume; these flags are ignored
    await train(opts(b, { resume: true, schedule: { kind: 'constant' }, lr: 1, clipGradNorm: 0 }), data);
    const want: LrSchedule = { kind: 'cosine', baseLr: 2e-3, warmupSteps: 3, minLr: 1e-5, totalSteps: 6 };
    const [ra, rb] = [logged(a), logged(b)];
    assert.equal(ra.length, 6);
    for (let s = 1; s <= 6; s++) {
      const lr = Number(ra[s - 1][7]);
      assert.ok(Math.abs(lr - lrAt(want, s)) <= 1e-5 * lrAt(want, s), `step ${s}: logged ${lr}, formula ${lrAt(want, s)}`);
    }
    assert.deepEqual(ra.map((r) => r.slice(0, 8)), rb.map((r) => r.slice(0, 8)));
    assert.ok(readFileSync(path.join(a, WEIGHTS_FILE)).equals(readFileSync(path.join(b, WEIGHTS_FILE))), 'weights differ');
    const ck = await loadCheckpoint(b);
    assert.deepEqual(ck.state.schedule, want);
    assert.equal(ck.state.clipGradNorm, 1);
    assert.ok(ra.every((r) => Number(r[6]) > 1), 'clipping was exercised');
    assert.equal(ck.adam.opts.lr, lrAt(want, 6));
    ck.model.dispose();
    ck.adam.dispose();
  } finally {
    for (const d of [a, b]) rmSync(d, { recursive: true, force: true });
  }
});

test('resume with --schedule-steps re-targets the decay (recorded); without it the stored end stays', async () => {
  const d = tmp();
  try {
    const data = syntheticData(2, 20, 18);
    await train(opts(d, { steps: 4 }), data); // decay over 3..4
    const notes: string[] = [];
    await train(opts(d, { steps: 5, resume: true, write: (l) => notes.push(l) }), data);
    assert.ok(notes.some((l) => /stored cosine decay ends at step 4; steps after it run at --min-lr/.test(l)), notes.join('\n'));
    assert.ok(Math.abs(Number(logged(d)[4][7]) - 1e-5) < 1e-10);
    await train(opts(d, { steps: 6, resume: true, scheduleSteps: 10 }), data);
    const re: LrSchedule = { kind: 'cosine', baseLr: 2e-3, warmupSteps: 3, minLr: 1e-5, totalSteps: 10 };
    assert.ok(Math.abs(Number(logged(d)[5][7]) - lrAt(re, 6)) <= 1e-5 * lrAt(re, 6));
    const ck = await loadCheckpoint(d);
    assert.equal(ck.state.schedule!.totalSteps, 10);
    ck.model.dispose();
    ck.adam.dispose();
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('the run records its SIG (tesg_sig in checkpoint and weights); a resume on another SIG cache lists the first in previous', async () => {
  const d = tmp();
  try {
    const data = syntheticData(2, 20, 18);
    const first = { version: 1, textEncoderId: 'tesg-lexicon-v1-77x64', tokens: 77, dim: 64, captioner: 'c1', masker: 'm1' };
    await train(opts(d, { steps: 1, sig: first, schedule: { kind: 'constant' } }), data);
    const second = { ...first, masker: 'm2' };
    const notes: string[] = [];
    await train(opts(d, { steps: 2, resume: true, sig: second, write: (l) => notes.push(l) }), data);
    assert.ok(notes.some((l) => l.includes('the checkpoint trained on captioner c1, masker m1, text encoder tesg-lexicon-v1-77x64 up to step 1; continuing on captioner c1, masker m2')), notes.join('\n'));
    const want = { header: second, previous: [{ header: first, untilStep: 1 }] };
    for (const f of [WEIGHTS_FILE, 'checkpoint.safetensors']) {
      assert.deepEqual(JSON.parse((await readTensorFile(path.join(d, f))).metadata.tesg_sig), want, f);
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/runtime/backend.js';
import { ensureGradients } from '../src/model/tfjs.js';
import { trainSegmentation, type SegTrainOptions } from '../src/downstream/segtrain.js';
import { evaluateSegmentation } from '../src/downstream/segeval.js';
import { initSegParams, paramCount, DEFAULT_SEGNET, type SegNetConfig } from '../src/downstream/segnet.js';
import type { SegSet } from '../src/downstream/segdata.js';

// One synthetic 32x24 scene: dark background (class 0), a bright car-like block (1), a mid-gray
// person-like bar (2), with a little seeded texture so the classes are not single values.
function oneImageSet(): SegSet {
  const w = 32, h = 24;
  const images = new Uint8Array(w * h * 3), labels = new Uint8Array(w * h);
  let s = 7;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const noise = (s >>> 24) % 20;
      let cls = 0, v = 30 + noise;
      if (x >= 4 && x < 14 && y >= 12 && y < 20) { cls = 1; v = 220 - noise; }
      else if (x >= 22 && x < 26 && y >= 4 && y < 20) { cls = 2; v = 130 + noise; }
      labels[y * w + x] = cls;
      images.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  return { stems: ['a'], width: w, height: h, images, labels, labelWidth: w, labelHeight: h };
}

const NET: SegNetConfig = { inChannels: 3, classes: 3, widths: [8, 16], stemStride: 1 };
let dir: string;
const opts = (o: Partial<SegTrainOptions>): SegTrainOptions => ({
  net: NET, steps: 80, batch: 2, lr: 5e-3, seed: 4, checkpointEvery: 1000, outDir: dir, resume: false, dataId: 'synthetic', quiet: true, ...o,
});

before(async () => {
  await initBackend('wasm');
  await ensureGradients();
});

test('the default network has a few hundred K parameters', () => {
  const p = initSegParams(DEFAULT_SEGNET, 1);
  assert.equal(paramCount(p), 487433);
  for (const v of p.values()) v.dispose();
});

test('overfits one small image: loss falls, pixel accuracy near 1, no leaked tensors', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-seg-'));
  try {
    const set = oneImageSet();
    const before = tf.memory().numTensors;
    const r = await trainSegmentation(set, opts({}));
    const first = r.log[0][1], last = r.log[r.log.length - 1][1];
    assert.ok(first > 0.8, `initial loss ${first} should be near ln 3`);
    assert.ok(last < 0.02 * first, `loss ${first} -> ${last} should fall by > 98%`);
    const params = await r.stepper.tfjsParams();
    const scores = await evaluateSegmentation(params, NET, set, true);
    assert.ok(scores.pixelAccuracy > 0.99, `pixel accuracy ${scores.pixelAccuracy}`);
    assert.ok(scores.miou > 0.95, `mIoU ${scores.miou}`);
    r.stepper.dispose();
    assert.equal(tf.memory().numTensors - params.size, before, 'only the scoring copy of the parameters stays allocated');
    tf.dispose([...params.values()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume continues exactly: 4 steps = 2 steps + resume to 4', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-seg-'));
  const dir2 = mkdtempSync(path.join(os.tmpdir(), 'tesg-seg-'));
  try {
    const set = oneImageSet();
    const straight = await trainSegmentation(set, opts({ steps: 4, outDir: dir2 }));
    (await trainSegmentation(set, opts({ steps: 4, checkpointEvery: 2, outDir: dir, stopAfter: 2 }))).stepper.dispose();
    await assert.rejects(trainSegmentation(set, opts({ steps: 4, outDir: dir })), /exists: pass --resume/);
    await assert.rejects(trainSegmentation(set, opts({ steps: 4, outDir: dir, resume: true, seed: 5 })), /made with other settings/);
    const resumed = await trainSegmentation(set, opts({ steps: 4, outDir: dir, resume: true }));
    assert.deepEqual(resumed.log, straight.log);
    assert.deepEqual(await resumed.stepper.arrays(), await straight.stepper.arrays());
    straight.stepper.dispose();
    resumed.stepper.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dir2, { recursive: true, force: true });
  }
});

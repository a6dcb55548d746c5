/**
 * Data-parallel gradients: two worker replicas on uneven halves of a batch, averaged, equal the
 * one-process full-batch gradient; micro-batch accumulation equals the whole-batch gradient.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createParallelTrainer, shareCounts } from '../src/runtime/parallel.js';
import type { TensorMap } from '../src/runtime/gradient-model.js';
import { initProbeWeights, type ProbeNetConfig } from '../src/runtime/probe-net.js';

const CFG: ProbeNetConfig = { dim: 8, heads: 2, blocks: 1, ffnFactor: 2.66, inChannels: 4, outChannels: 3 };
const WORKER_MODULE = fileURLToPath(new URL('../src/runtime/probe-worker.ts', import.meta.url));

function batch(n: number, size: number): TensorMap {
  let s = 12345;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
  const make = (c: number) => ({ shape: [n, size, size, c], data: new Float32Array(n * size * size * c).map(r) });
  return { x: make(CFG.inChannels), target: make(CFG.outChannels) };
}

function maxRelErr(a: TensorMap, b: TensorMap): number {
  let worst = 0;
  for (const k of Object.keys(b)) {
    const x = a[k].data;
    const y = b[k].data;
    let scale = 1e-30;
    let diff = 0;
    for (let i = 0; i < y.length; i++) {
      scale = Math.max(scale, Math.abs(y[i]));
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

test('shareCounts splits a batch into near-equal parts', () => {
  assert.deepEqual(shareCounts(5, 2), [3, 2]);
  assert.deepEqual(shareCounts(8, 2), [4, 4]);
  assert.deepEqual(shareCounts(1, 2), [1, 0]);
});

test('2-worker averaged gradient equals the 1-process full-batch gradient', async () => {
  const weights = initProbeWeights(CFG, 11);
  const data = batch(5, 8);
  const single = await createParallelTrainer({ workerModule: WORKER_MODULE, workers: 0, init: CFG });
  const ref = await single.gradients(weights, data);
  const micro = await createParallelTrainer({ workerModule: WORKER_MODULE, workers: 0, init: CFG, microBatch: 2 });
  const accumulated = await micro.gradients(weights, data);
  const par = await createParallelTrainer({ workerModule: WORKER_MODULE, workers: 2, init: CFG });
  try {
    const got = await par.gradients(weights, data);
    assert.deepEqual(got.shards.map((s) => s.examples), [3, 2]);
    assert.ok(Math.abs(got.loss - ref.loss) < 1e-6 * Math.abs(ref.loss), `loss ${got.loss} vs ${ref.loss}`);
    assert.ok(maxRelErr(got.grads, ref.grads) < 1e-5, `gradients differ by ${maxRelErr(got.grads, ref.grads)}`);
    assert.ok(maxRelErr(accumulated.grads, ref.grads) < 1e-5, 'micro-batch accumulation differs');
    // A second step with other weights: replicas take the weights they are sent, nothing stale.
    const w2 = initProbeWeights(CFG, 12);
    const ref2 = await single.gradients(w2, data);
    const got2 = await par.gradients(w2, data);
    assert.ok(maxRelErr(got2.grads, ref2.grads) < 1e-5);
    assert.ok(maxRelErr(got2.grads, got.grads) > 1e-2, 'different weights must give different gradients');
  } finally {
    await par.close();
  }
});

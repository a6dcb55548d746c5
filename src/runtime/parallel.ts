/**
 * Data-parallel gradients over worker threads. tfjs-wasm runs one thread per instance in Node, so
 * both cores are used by running one replica per worker: each computes the gradient of the mean loss
 * on its share of the batch, and the results are averaged here weighted by share size, which is
 * exactly the full-batch gradient. Weights live with the caller (the training loop and its optimizer
 * step, checkpoints and resume stay in one thread); each call sends the current weights, so replicas
 * can never drift apart.
 *
 *   const trainer = await createParallelTrainer({ workerModule: '/abs/model-module.js', workers: 2, init });
 *   const { loss, grads } = await trainer.gradients(weights, batch);
 *   await trainer.close();
 *
 * `workers: 0` computes in this thread with the same code (the 1-process reference and fallback).
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import { initBackend, wasmHeapBytes, type BackendName } from './backend.js';
import {
  examplesIn,
  shardGradients,
  sliceBatch,
  type GradientModel,
  type GradientModelModule,
  type ShardGradients,
  type TensorMap,
} from './gradient-model.js';
import type { GradRequest } from './parallel-worker.js';

export interface ParallelTrainerOptions {
  /** Path or file URL of a module exporting `createModel(init)` (see ./gradient-model.ts). */
  workerModule: string | URL;
  /** Worker threads; 0 runs in this thread. Default: the number of cores. */
  workers?: number;
  /** Passed to `createModel` in every replica (structured-cloneable). */
  init?: unknown;
  backend?: BackendName;
  /** Largest micro-batch a replica runs at once (gradients accumulate): bounds activation memory. */
  microBatch?: number;
}

export interface StepGradients {
  /** Mean loss over the whole batch. */
  loss: number;
  /** Gradient of the mean loss over the whole batch. */
  grads: TensorMap;
  /** Per worker: examples, milliseconds spent computing (load balance) and its wasm heap size (peak). */
  shards: { examples: number; ms: number; heapBytes: number }[];
}

export interface ParallelTrainer {
  readonly workers: number;
  gradients(weights: TensorMap, batch: TensorMap): Promise<StepGradients>;
  close(): Promise<void>;
}

function modulePath(m: string | URL): string {
  return m instanceof URL || m.startsWith('file:') ? fileURLToPath(m) : m;
}

/**
 * Starts the worker entry next to this file: parallel-worker.js in dist/; from source (tsx), a
 * bootstrap that registers tsx in the worker first, because Node 20 does not pass the main thread's
 * loader hooks (`--import tsx`) on to worker threads.
 */
function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parallel-worker.js', import.meta.url), { workerData });
  const entry = new URL('./parallel-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** Weighted mean of shard results: sum_i (n_i / N) g_i is the full-batch mean-loss gradient. */
export function combineShards(results: ShardGradients[]): { loss: number; grads: TensorMap } {
  const total = results.reduce((s, r) => s + r.examples, 0);
  const grads: TensorMap = {};
  for (const name of Object.keys(results[0].grads)) {
    const { shape, data } = results[0].grads[name];
    const acc = new Float32Array(data.length);
    for (const r of results) {
      const w = r.examples / total;
      const g = r.grads[name].data;
      for (let j = 0; j < acc.length; j++) acc[j] += w * g[j];
    }
    grads[name] = { shape, data: acc };
  }
  return { loss: results.reduce((s, r) => s + (r.loss * r.examples) / total, 0), grads };
}

/** Splits `examples` into `parts` near-equal counts (the first ones one larger). */
export function shareCounts(examples: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(examples / parts) + (i < examples % parts ? 1 : 0));
}

export async function createParallelTrainer(opts: ParallelTrainerOptions): Promise<ParallelTrainer> {
  const path = modulePath(opts.workerModule);
  const workers = opts.workers ?? os.availableParallelism();
  const backend = opts.backend ?? 'wasm';
  const microBatch = opts.microBatch ?? Infinity;
  return workers === 0 ? inProcess(path, opts.init, backend, microBatch) : await pool(path, opts.init, backend, microBatch, workers);
}

async function inProcess(path: string, init: unknown, backend: BackendName, microBatch: number): Promise<ParallelTrainer> {
  await initBackend(backend);
  const mod = (await import(pathToFileURL(path).href)) as GradientModelModule;
  const model: GradientModel = await mod.createModel(init);
  return {
    workers: 0,
    async gradients(weights, batch) {
      const t0 = performance.now();
      const r = shardGradients(model, weights, batch, microBatch);
      return { loss: r.loss, grads: r.grads, shards: [{ examples: r.examples, ms: performance.now() - t0, heapBytes: wasmHeapBytes() }] };
    },
    async close() {},
  };
}

interface Reply {
  id: number;
  ok: boolean;
  result?: ShardGradients;
  ms?: number;
  heapBytes?: number;
  error?: string;
}

async function pool(path: string, init: unknown, backend: BackendName, microBatch: number, count: number): Promise<ParallelTrainer> {
  const threads = Array.from({ length: count }, () => startWorker({ modulePath: path, init, backend }));
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | null = null;
  for (const t of threads) {
    t.on('message', (r: Reply) => {
      const p = pending.get(r.id);
      pending.delete(r.id);
      p?.resolve(r);
    });
    t.on('error', (e) => {
      failure = e;
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }
  const ask = (t: Worker, weights: TensorMap, shard: TensorMap) =>
    new Promise<Reply>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const req: GradRequest = { id, weights, shard, microBatch };
      t.postMessage(req);
    });
  return {
    workers: count,
    async gradients(weights, batch) {
      const counts = shareCounts(examplesIn(batch), count).filter((c) => c > 0);
      let start = 0;
      const asks = counts.map((c, i) => {
        const shard = sliceBatch(batch, start, c);
        start += c;
        return ask(threads[i], weights, shard);
      });
      const replies = await Promise.all(asks);
      const bad = replies.find((r) => !r.ok);
      if (bad) throw new Error(`gradient worker failed: ${bad.error}`);
      const results = replies.map((r) => r.result as ShardGradients);
      const { loss, grads } = combineShards(results);
      return { loss, grads, shards: replies.map((r) => ({ examples: (r.result as ShardGradients).examples, ms: r.ms ?? 0, heapBytes: r.heapBytes ?? 0 })) };
    },
    async close() {
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}

/**
 * Worker-thread side of ./parallel.ts: one model replica on its own wasm backend (its own 4 GB heap
 * and its own core), computing gradients on the shard it is sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { initBackend, wasmHeapBytes, type BackendName } from './backend.js';
import { shardGradients, type GradientModelModule, type TensorMap } from './gradient-model.js';

interface WorkerSetup {
  modulePath: string;
  init: unknown;
  backend: BackendName;
}

export interface GradRequest {
  id: number;
  weights: TensorMap;
  shard: TensorMap;
  microBatch: number;
}

if (parentPort === null) throw new Error('parallel-worker must run in a worker thread');
const port = parentPort;
const setup = workerData as WorkerSetup;

const ready = (async () => {
  await initBackend(setup.backend);
  const mod = (await import(pathToFileURL(setup.modulePath).href)) as GradientModelModule;
  if (typeof mod.createModel !== 'function') throw new Error(`${setup.modulePath}: must export createModel(init)`);
  return mod.createModel(setup.init);
})();

port.on('message', async (req: GradRequest) => {
  try {
    const model = await ready;
    const t0 = performance.now();
    const result = shardGradients(model, req.weights, req.shard, req.microBatch);
    const ms = performance.now() - t0;
    const transfer = Object.values(result.grads).map((g) => g.data.buffer as ArrayBuffer);
    port.postMessage({ id: req.id, ok: true, result, ms, heapBytes: wasmHeapBytes() }, transfer);
  } catch (e) {
    port.postMessage({ id: req.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});

/**
 * Worker-thread side of ./detector-pool.ts: one CenterNetDetector on this thread's own tfjs wasm
 * backend (its own heap, one XNNPACK thread, so its own core). It loads tfjs and the model itself,
 * says 'ready' (or 'load-failed'), then answers each DetectRequest with the Detection[] the main
 * thread's detector would return for the same image: same wasm binary, same model files, same code.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Image8 } from '../image/types.js';
import { CenterNetDetector, type DetectOptions } from './detector.js';
import type { Detection } from './centernet.js';
import { CLAIM_FREE, CLAIM_WORKER } from './detector-pool.js';

/** workerData of the detector worker. */
export interface DetectorWorkerSetup {
  /** model.json of the CenterNet graph (default: the one in node_modules/@vladmandic/human). */
  modelJson?: string;
}

/**
 * Main thread -> worker: detect in `img` (its pixel buffer is transferred, a copy of the caller's).
 * `claim` (one Int32 over a SharedArrayBuffer) decides who runs it: 0 = nobody yet, 1 = the worker,
 * 2 = the main thread, which may take a request back that the worker has not started (the worker is
 * still loading, or busy on a loaded machine). Whoever swaps 0 for its own value first runs it.
 */
export interface DetectRequest {
  id: number;
  img: Image8;
  opts?: DetectOptions;
  claim: Int32Array;
}


/** An error as data: structured clone would drop its class (InputError keeps its file). */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string;
  file?: string;
}

/** Worker -> main thread. */
export type DetectorWorkerReply =
  | { kind: 'ready' }
  | { kind: 'load-failed'; error: WorkerError }
  | { kind: 'result'; id: number; detections: Detection[] }
  | { kind: 'skipped'; id: number }
  | { kind: 'error'; id: number; error: WorkerError };

/** `err` as a WorkerError (name, message, stack, and an InputError's file). */
export function errorAsData(err: unknown): WorkerError {
  const e = err instanceof Error ? err : new Error(String(err));
  const file = (e as { file?: unknown }).file;
  return { name: e.name, message: e.message, stack: e.stack, file: typeof file === 'string' ? file : undefined };
}

if (parentPort === null) throw new Error('detector-worker must run in a worker thread (see src/semantics/detector-pool.ts)');
const port = parentPort;
const setup = (workerData ?? {}) as DetectorWorkerSetup;

const ready = CenterNetDetector.load(setup.modelJson);
ready.then(
  () => port.postMessage({ kind: 'ready' } satisfies DetectorWorkerReply),
  (err) => port.postMessage({ kind: 'load-failed', error: errorAsData(err) } satisfies DetectorWorkerReply),
);

port.on('message', async (req: DetectRequest) => {
  try {
    const detector = await ready;
    if (Atomics.compareExchange(req.claim, 0, CLAIM_FREE, CLAIM_WORKER) !== CLAIM_FREE) {
      port.postMessage({ kind: 'skipped', id: req.id } satisfies DetectorWorkerReply);
      return;
    }
    const detections = await detector.detect(req.img, req.opts);
    port.postMessage({ kind: 'result', id: req.id, detections } satisfies DetectorWorkerReply);
  } catch (err) {
    port.postMessage({ kind: 'error', id: req.id, error: errorAsData(err) } satisfies DetectorWorkerReply);
  }
});

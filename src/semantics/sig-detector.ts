/**
 * Which implementation runs the SIG's built-in detector in Node (the browser app injects its own):
 * - 'onnx' (default): the CenterNet graph converted to ONNX, on onnxruntime, all cores
 *   (./centernet-ort.ts): about 3x faster per image than tfjs-wasm and no tfjs to load.
 * - 'tfjs': the tfjs graph on tfjs-wasm, one thread, plus a worker thread for the second image from
 *   the second pair on (./detector-pool.ts): the implementation the browser runs, kept for comparison
 *   (`npm run bench -- sig` times both) and as a fallback.
 * Both give the same detections (test/semantics-centernet-onnx.test.ts).
 */
import os from 'node:os';
import { UsageError } from '../errors.js';
import type { ObjectDetector } from './default-provider.js';
import { markPhase } from '../util/startup-trace.js';

export type DetectorBackend = 'onnx' | 'tfjs';
/** Environment variable that picks the backend: 'onnx' or 'tfjs'. */
export const DETECTOR_BACKEND_ENV = 'TESG_DETECTOR';

/** TESG_DETECTOR if set ('onnx' | 'tfjs'; else a UsageError), otherwise 'onnx'. */
export function defaultDetectorBackend(): DetectorBackend {
  const env = process.env[DETECTOR_BACKEND_ENV];
  if (env === undefined || env === '') return 'onnx';
  if (env === 'onnx' || env === 'tfjs') return env;
  throw new UsageError(`${DETECTOR_BACKEND_ENV} must be onnx or tfjs, got '${env}'`);
}

/** Environment variable that overrides the automatic core use: '0' = one thread, '1' = all cores. */
export const DETECTOR_WORKERS_ENV = 'TESG_DETECTOR_WORKERS';

/**
 * Cores for the detector when the caller did not say (DetectorSigOptions.detectorWorkers): the
 * environment variable TESG_DETECTOR_WORKERS ('0' or '1') if set (`tesg worker --concurrency N > 1`
 * sets 0 for its jobs), else 1 when the machine has at least 2 cores (os.availableParallelism()) and
 * 0 on one core. Errors: UsageError for another value of the variable.
 */
export function defaultDetectorWorkers(): 0 | 1 {
  const env = process.env[DETECTOR_WORKERS_ENV];
  if (env !== undefined && env !== '') {
    if (env === '0' || env === '1') return Number(env) as 0 | 1;
    throw new UsageError(`${DETECTOR_WORKERS_ENV} must be 0 or 1, got '${env}'`);
  }
  return os.availableParallelism() >= 2 ? 1 : 0;
}

/**
 * The SIG's own detector. `workers` (DetectorSigOptions.detectorWorkers): 0 where the process keeps
 * every core busy already (one onnxruntime thread; tfjs: no worker thread), else all cores (tfjs: one
 * worker thread, ./detector-pool.ts). Errors: InputError naming an unreadable model file.
 */
export async function loadSigDetector(workers: 0 | 1 = defaultDetectorWorkers(), backend: DetectorBackend = defaultDetectorBackend()): Promise<ObjectDetector & { dispose(): void | Promise<void> }> {
  if (backend === 'tfjs') {
    const { loadSigDetector: loadTfjs } = await import('./detector-pool.js');
    return loadTfjs(workers);
  }
  const { OnnxCenterNetDetector } = await import('./centernet-ort.js');
  const detector = await OnnxCenterNetDetector.load({ threads: workers === 0 ? 1 : undefined });
  markPhase('detector-loaded');
  return detector;
}

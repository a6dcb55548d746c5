/**
 * Which implementation runs the SIG's built-in detector in Node (the browser app injects its own):
 * - 'onnx' (default): the CenterNet graph converted to ONNX, on onnxruntime, all cores
 *   (./centernet-ort.ts): about 3x faster per image than tfjs-wasm and no tfjs to load.
 * - 'tfjs': the tfjs graph on tfjs-wasm, one thread, plus a worker thread for the second image from
 *   the second pair on (./detector-pool.ts): the implementation the browser runs, kept for comparison
 *   (`npm run bench -- sig` times both) and as a fallback.
 * Both give the same detections (test/semantics-centernet-onnx.test.ts).
 */
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

/**
 * The SIG's own detector. `workers` (DetectorSigOptions.detectorWorkers): 0 where the process keeps
 * every core busy already (one onnxruntime thread; tfjs: no worker thread), else all cores (tfjs: one
 * worker thread, ./detector-pool.ts). Errors: InputError naming an unreadable model file.
 */
export async function loadSigDetector(workers?: 0 | 1, backend: DetectorBackend = defaultDetectorBackend()): Promise<ObjectDetector & { dispose(): void | Promise<void> }> {
  if (backend === 'tfjs') {
    const { loadSigDetector: loadTfjs } = await import('./detector-pool.js');
    return loadTfjs(workers);
  }
  const { OnnxCenterNetDetector } = await import('./centernet-ort.js');
  const detector = await OnnxCenterNetDetector.load({ threads: workers === 0 ? 1 : undefined });
  markPhase('detector-loaded');
  return detector;
}

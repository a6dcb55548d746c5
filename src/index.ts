/**
 * The tesg library API. Each part of the method lives in the folder of its name:
 * image (I/O, colour), metrics, eval, fusion (methods registry, classic baselines),
 * semantics (the SIG), model (the TeSG network), training, runtime (backends, ONNX), queue (fusing a
 * dataset on many machines: BullMQ on Redis).
 */
export * from './errors.js';
export type { Image8, GrayImage } from './image/types.js';
export { readImage, readImageSize, assertSameSize, type ReadOptions } from './image/read.js';
export { writeImage, encodeImage, type WriteOptions } from './image/write.js';
export { toGray, rgbToYCbCr, ycbcrToRgb, lumaPlane, recolor, roundHalfEven } from './image/color.js';
export * from './metrics/index.js';
export { evaluateFolders, markdownTable, type EvalOptions, type EvalResult } from './eval/index.js';
export * from './fusion/index.js';
export { pairByStem, type Pairing } from './util/pairing.js';
export type { BinaryMask, CaptionProvider, MaskProvider, TextEncoder, SigResult } from './semantics/types.js';
export { runSig, defaultProviders, type SigProviders, type SigInput } from './semantics/sig.js';
export { loadOnnxProviders, type OnnxProviderOptions, type OnnxProviders } from './semantics/onnx-providers.js';
export { findKeywords, removeKeywords } from './semantics/keywords.js';
export {
  enqueueFolder,
  startWorker,
  queueStatus,
  retryFailed,
  drainQueue,
  type EnqueueOptions,
  type EnqueueReport,
  type StartWorkerOptions,
  type WorkerEvent,
  type TesgWorker,
  type QueueStatus,
  type PairJob,
  type TesgJob,
  enqueueVideo,
  type EnqueueVideoOptions,
  type EnqueueVideoReport,
  type VideoChunkQueueJob,
} from './queue/index.js';
export {
  fuseVideo,
  planVideo,
  fuseVideoChunk,
  runVideoChunkJob,
  finishVideo,
  readPlan as readVideoPlan,
  chunkCount as videoChunkCount,
  temporalSig,
  FlickerMeter,
  type FuseVideoOptions,
  type FuseVideoReport,
  type VideoPlan,
  type VideoChunkJob,
  type TemporalSigOptions,
} from './video/index.js';

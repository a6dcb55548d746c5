/** Video fusion (`tesg fuse-video`): ffmpeg over pipes, time pairing, chunks + resume, the temporal SIG, flicker. */
export { fuseVideo, planVideo, defaultVideoMethod, type FuseVideoOptions, type FuseVideoReport } from './fuse-video.js';
export { fuseVideoChunk, runVideoChunkJob, type ChunkContext, type ChunkRecord, type ChunkResult, type VideoChunkJob } from './chunk.js';
export { finishVideo, countFrames, type FinishReport } from './finish.js';
export { chunkCount, chunkRange, readPlan, workDirFor, type VideoPlan, type OutputKind } from './plan.js';
export { probeSource, type SourceInfo } from './probe.js';
export { pairFrames, SYNC_MODES, type SyncMode, type Pairing } from './pairing.js';
export { temporalSig, sigContext, majorityMask, DEFAULT_TEMPORAL, PER_FRAME, type TemporalSigOptions, type TemporalSettings } from './temporal-sig.js';
export { FlickerMeter, flickerRatio, type FlickerSums } from './flicker.js';
export { readFrames } from './decode.js';
export { DEFAULT_ENCODE, type EncodeSettings } from './encode.js';
export { parseRate, type Rational } from './ffmpeg.js';

/** The distributed job queue (BullMQ on Redis): `tesg queue` and `tesg worker` as library functions. */
export { enqueueFolder, type EnqueueOptions, type EnqueueReport } from './enqueue.js';
export { startWorker, type TesgWorker, type WorkerEvent, type StartWorkerOptions } from './worker.js';
export { queueStatus, retryFailed, drainQueue, type QueueStatus, type QueueTarget, type FailedJob, type DrainReport } from './status.js';
export { enqueueVideo, planHash, videoChunkJobId, runVideoChunkQueueJob, type EnqueueVideoOptions, type EnqueueVideoReport, type VideoChunkResult } from './video.js';
export { jobId, pairHash, JOB_FORMAT, type PairJob, type VideoChunkQueueJob, type TesgJob, type JobKind, type JobFuseOptions } from './job.js';
export { DEFAULT_QUEUE, DEFAULT_REDIS_URL, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS } from './defaults.js';

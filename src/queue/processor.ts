import { workerData } from 'node:worker_threads';
import type { SandboxedJob } from 'bullmq';
import type { Redis } from 'ioredis';
import { sharp } from '../image/sharp.js';
import { TesgError } from '../errors.js';
import { parseJob, type JobKind, type TesgJob } from './job.js';
import { ensureTesgMethod } from './methods.js';
import { runPairJob, type PairContext, type PairResult } from './pair.js';
import { openRedis } from './redis.js';
import { runVideoChunkQueueJob, type VideoChunkResult } from './video.js';

/**
 * The job processor, run by BullMQ in a worker thread of `tesg worker` (a sandboxed processor).
 * Fusion is CPU-bound and much of it synchronous (image decoding, the SIG's masks and warm objects,
 * and with TESG_DETECTOR=tfjs its detector block for up to seconds per pair), so on the worker's main thread it would starve the timer that renews the job's lock, and
 * BullMQ would take a busy job for a dead one. Here it blocks only this thread; the main thread keeps
 * the lock. A thread is reused for the next job, so the TeSG model loads once per thread.
 */
export interface ProcessorContext {
  redis: string;
  queue: string;
  threads?: number;
}

export type JobResult = PairResult | VideoChunkResult;
type Handler<K extends JobKind> = (job: SandboxedJob, data: Extract<TesgJob, { kind: K }>, ctx: PairContext) => Promise<JobResult>;

/** One handler per job kind; a new kind adds its entry here. */
const HANDLERS: { [K in JobKind]: Handler<K> } = {
  pair: (job, data, ctx) => runPairJob(job, data, ctx),
  'video-chunk': (job, data, ctx) => runVideoChunkQueueJob(job, data, ctx),
};

/** The job's error as the one line kept in the failed set: a TesgError's message names the file. */
export function oneLineError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const first = (e.message.split('\n')[0] || e.name).trim();
  const out = new Error(e instanceof TesgError ? first : `${e.name}: ${first}`);
  out.stack = e.stack;
  return out;
}

const ctx = workerData as ProcessorContext;
let redis: Promise<Redis> | undefined;

export default async function processJob(job: SandboxedJob): Promise<JobResult> {
  let data: TesgJob;
  try {
    data = parseJob(job.data);
  } catch (err) {
    // BullMQ fails a job at once, without retries, when its error is named UnrecoverableError.
    const e = new Error((err as Error).message);
    e.name = 'UnrecoverableError';
    throw e;
  }
  if (redis === undefined) {
    ensureTesgMethod();
    if (ctx.threads !== undefined) sharp.concurrency(ctx.threads);
    redis = openRedis(ctx.redis, { failFast: false });
  }
  try {
    const handler = HANDLERS[data.kind] as Handler<JobKind>;
    return await handler(job, data as never, { redis: await redis, queue: ctx.queue, threads: ctx.threads });
  } catch (err) {
    throw oneLineError(err);
  }
}

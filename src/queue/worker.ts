import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type Job } from 'bullmq';
import { UsageError } from '../errors.js';
import type { JobKind } from './job.js';
import type { JobResult, ProcessorContext } from './processor.js';
import { DEFAULT_QUEUE } from './defaults.js';
import { bullmqConnection, openQueue, openRedis } from './redis.js';

/**
 * `tesg worker`: a BullMQ worker that takes jobs from the queue and runs them, on as many machines as
 * there are. BullMQ gives the distribution: a job is locked by one worker at a time; a worker that
 * dies (SIGKILL, machine lost) stops renewing its lock, and after lockDuration another worker's
 * stalled check (every stalledInterval) puts the job back in the queue; a job that throws is retried
 * with backoff and, after its attempts, kept in the failed set with its error. Jobs run in worker threads
 * (./processor.ts), so a long fusion never delays the lock renewal on this thread.
 */
export interface StartWorkerOptions {
  redis: string;
  queue?: string;
  /** Jobs run at once in this process (default 1). */
  concurrency?: number;
  /** Threads per job: onnxruntime threads of the tesg method and libvips threads (default: all cores). */
  threads?: number;
  /** ms a job stays locked without renewal before it counts as stalled (BullMQ lockDuration, default 30000). */
  lockDurationMs?: number;
  /** ms between stalled-job checks (BullMQ stalledInterval, default 30000). */
  stalledIntervalMs?: number;
  /** Stop once nothing is waiting, delayed or running in the queue (batch use). */
  untilEmpty?: boolean;
  /** Stored on each job it runs (default host:pid). */
  name?: string;
  onEvent?: (e: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'done'; jobId: string; kind: JobKind; stem: string; out: string; seconds: number; inputsChanged: boolean; joined: boolean }
  | { type: 'failed'; jobId: string; stem: string; attempt: number; attempts: number; final: boolean; message: string }
  | { type: 'stalled'; jobId: string }
  | { type: 'error'; message: string };

export interface TesgWorker {
  readonly name: string;
  /** Take no new job, let the running ones finish, disconnect. */
  close(): Promise<void>;
  /** Resolves once the worker has stopped (after close(), or by itself with untilEmpty). */
  readonly stopped: Promise<void>;
}

/** The processor beside this file: processor.js when built; under tsx a bootstrap that loads processor.ts. */
const here = fileURLToPath(import.meta.url);
const PROCESSOR_FILE = path.join(path.dirname(here), path.extname(here) === '.ts' ? 'processor-tsx.mjs' : 'processor.js');

function checkPositive(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`${name} must be a positive integer, got ${v}`);
}

/** Start a worker (resolves once it is connected). Errors: QueueError when Redis cannot be reached. */
export async function startWorker(opts: StartWorkerOptions): Promise<TesgWorker> {
  checkPositive('concurrency', opts.concurrency);
  checkPositive('threads', opts.threads);
  checkPositive('lock duration', opts.lockDurationMs);
  checkPositive('stalled interval', opts.stalledIntervalMs);
  const queueName = opts.queue ?? DEFAULT_QUEUE;
  const name = opts.name ?? `${os.hostname()}:${process.pid}`;
  const emit = opts.onEvent ?? (() => {});
  (await openRedis(opts.redis)).disconnect(); // fail fast on a wrong URL; BullMQ's clients then reconnect forever
  const workerData: ProcessorContext = { redis: opts.redis, queue: queueName, threads: opts.threads };
  const worker = new Worker(queueName, PROCESSOR_FILE, {
    connection: bullmqConnection(opts.redis),
    name,
    concurrency: opts.concurrency ?? 1,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    autorun: false,
    useWorkerThreads: true,
    // Several jobs at once already keep every core busy: then each job's SIG detector uses one thread
    // (TESG_DETECTOR_WORKERS=0, src/semantics/sig-detector.ts: one onnxruntime thread, or with
    // TESG_DETECTOR=tfjs no detector worker thread; named here, not imported, to keep imports light).
    workerThreadsOptions: (opts.concurrency ?? 1) > 1 ? { workerData, env: { ...process.env, TESG_DETECTOR_WORKERS: '0' } } : { workerData },
  });
  worker.on('completed', (job: Job, r: JobResult) => {
    const joined = 'joined' in r && r.joined;
    emit({ type: 'done', jobId: job.id ?? '', kind: job.name as JobKind, stem: String(job.data?.stem), out: r.out, seconds: r.seconds, inputsChanged: r.inputsChanged, joined });
  });
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    emit({ type: 'failed', jobId: job.id ?? '', stem: String(job.data?.stem), attempt: job.attemptsMade, attempts, final, message: err.message });
  });
  worker.on('stalled', (jobId: string) => emit({ type: 'stalled', jobId }));
  worker.on('error', (err: Error) => emit({ type: 'error', message: err.message }));

  let closing: Promise<void> | undefined;
  let poll: NodeJS.Timeout | undefined;
  const queue = opts.untilEmpty ? openQueue(opts.redis, queueName) : undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (poll) clearInterval(poll);
      await worker.close();
      await queue?.close();
    })());
  const running = worker.run();
  await worker.waitUntilReady();
  if (queue) {
    const check = async () => {
      const c = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
      if (Object.values(c).every((n) => n === 0)) void close();
    };
    poll = setInterval(() => void check().catch(() => {}), 1000);
  }
  const stopped = running.then(
    () => close(),
    async (err: unknown) => {
      await close();
      throw err;
    },
  );
  return { name, close, stopped };
}

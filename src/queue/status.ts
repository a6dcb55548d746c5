import { QueueError } from '../errors.js';
import { DEFAULT_QUEUE } from './defaults.js';
import { fusedKey, openQueue, openRedis } from './redis.js';

/**
 * `tesg queue status | retry-failed | drain`: reading and steering a queue. Counts come from BullMQ;
 * the rate is the completions of the last minute, read from BullMQ's completed set (scored by finish
 * time, in the workers' clocks: keep them in sync, as NTP does) against Redis's own clock.
 */
export interface QueueTarget {
  redis: string;
  queue?: string;
}

export interface FailedJob {
  id: string;
  stem: string;
  attempts: number;
  error: string;
}

export interface ActiveJob {
  id: string;
  /** 'pair' or 'video-chunk'. */
  kind: string;
  /** Pair stem, or `<output name>:<chunk>/<chunks>` for a video chunk. */
  stem: string;
  /** Percent done as the worker last reported it (0..100). */
  progress: number;
}

export interface QueueStatus {
  queue: string;
  /** Waiting for a worker (incl. prioritized). */
  waiting: number;
  active: number;
  /** Waiting to be retried after a failed attempt. */
  delayed: number;
  done: number;
  failed: number;
  /** Workers connected now. */
  workers: number;
  /** Jobs finished per second over the last minute (0 when none). */
  perSecond: number;
  /** Seconds until waiting + delayed + active are done at that rate; null when the rate is 0. */
  etaSeconds: number | null;
  /** The failed jobs (at most `maxFailed`, newest first) with their one-line errors. */
  failedJobs: FailedJob[];
  /** The running jobs (at most `maxActive`), with kind and progress. */
  activeJobs: ActiveJob[];
}

const WINDOW_MS = 60_000;

/** Counts, rate, ETA, the failed jobs (default 20) and the running ones (default 20). Errors: QueueError when Redis cannot be reached. */
export async function queueStatus(t: QueueTarget & { maxFailed?: number; maxActive?: number }): Promise<QueueStatus> {
  const name = t.queue ?? DEFAULT_QUEUE;
  const redis = await openRedis(t.redis);
  const queue = openQueue(t.redis, name);
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    const [sec, micro] = (await redis.time()) as [string | number, string | number];
    const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    const key = queue.toKey('completed');
    const recent = await redis.zcount(key, `(${now - WINDOW_MS}`, '+inf');
    const first = await redis.zrangebyscore(key, `(${now - WINDOW_MS}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    // n completions since the first one in the window: (n - 1) intervals over the time since it.
    const span = first.length === 2 ? Math.max(1, (now - Number(first[1])) / 1000) : WINDOW_MS / 1000;
    const perSecond = recent === 0 ? 0 : recent === 1 ? 1 / (WINDOW_MS / 1000) : (recent - 1) / span;
    const waiting = c.waiting + c.prioritized;
    const left = waiting + c.delayed + c.active;
    const failedJobs = (await queue.getFailed(0, (t.maxFailed ?? 20) - 1)).map((j) => ({
      id: j.id ?? '',
      stem: String((j.data as { stem?: unknown } | undefined)?.stem ?? ''),
      attempts: j.attemptsMade,
      error: j.failedReason ?? '',
    }));
    const activeJobs = (await queue.getActive(0, (t.maxActive ?? 20) - 1)).map((j) => ({
      id: j.id ?? '',
      kind: j.name,
      stem: String((j.data as { stem?: unknown } | undefined)?.stem ?? ''),
      progress: typeof j.progress === 'number' ? j.progress : 0,
    }));
    return {
      queue: name,
      waiting,
      active: c.active,
      delayed: c.delayed,
      done: c.completed,
      failed: c.failed,
      workers: await queue.getWorkersCount(),
      perSecond,
      etaSeconds: left === 0 ? 0 : perSecond > 0 ? left / perSecond : null,
      failedJobs,
      activeJobs,
    };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** Move every failed job back to the queue with its attempts reset (fix the input first). Returns how many. */
export async function retryFailed(t: QueueTarget): Promise<number> {
  const queue = openQueue(t.redis, t.queue ?? DEFAULT_QUEUE);
  (await openRedis(t.redis)).disconnect();
  try {
    // A snapshot: a job that fails again while this runs is not retried twice.
    const jobs = await queue.getFailed(0, -1);
    for (const job of jobs) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return jobs.length;
  } finally {
    await queue.close();
  }
}

export interface DrainReport {
  /** Waiting and delayed jobs removed. */
  removed: number;
  /** With `all`: the whole queue (done and failed history, the fused records) was deleted. */
  all: boolean;
}

/**
 * Remove the jobs not yet started (running ones finish). `all`: delete the queue entirely, history and
 * fused records included, so the next `queue add` starts from nothing; refused while jobs run unless `force`.
 */
export async function drainQueue(t: QueueTarget & { all?: boolean; force?: boolean }): Promise<DrainReport> {
  const name = t.queue ?? DEFAULT_QUEUE;
  const redis = await openRedis(t.redis);
  const queue = openQueue(t.redis, name);
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    const removed = c.waiting + c.prioritized + c.delayed;
    if (!t.all) {
      await queue.drain(true);
      return { removed, all: false };
    }
    if (c.active > 0 && !t.force) {
      throw new QueueError(`${c.active} job(s) of queue '${name}' are running; stop the workers first or pass --force`);
    }
    await queue.obliterate({ force: true });
    await redis.del(fusedKey(name));
    return { removed, all: true };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

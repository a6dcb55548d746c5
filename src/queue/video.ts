import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { TesgError, UsageError } from '../errors.js';
import { fuseVideoChunk } from '../video/chunk.js';
import { countFrames, finishVideo } from '../video/finish.js';
import { planVideo, type FuseVideoOptions } from '../video/fuse-video.js';
import { chunkCount, chunkRange, completedChunks, planFile, readPlan, segmentPath, workDirFor, type VideoPlan } from '../video/plan.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, DEFAULT_QUEUE } from './defaults.js';
import { canonicalJson, JOB_FORMAT, jobId, type VideoChunkQueueJob } from './job.js';
import type { PairContext, ProgressSink } from './pair.js';
import { fusedKey, openQueue, openRedis, withRedisLock, type RedisLockOptions } from './redis.js';

/**
 * Fusing one long video on many machines: `tesg queue add-video` plans the video exactly as `tesg
 * fuse-video` does (src/video/: `OUT.tesg-work/plan.json`, absolute paths) and adds one 'video-chunk'
 * job per chunk; `tesg worker` fuses a chunk into its segment with the same code as fuse-video
 * (fuseVideoChunk), so the joined output is the same. The job that finds every segment complete
 * joins the video (finishVideo, as fuse-video) under the plan's Redis lock (withRedisLock, as the
 * folder manifests), so exactly one worker joins it: the others wait until it is joined, or take over
 * when the joiner dies (the lock expires after LOCK_MS unrenewed); a waiter gives up after
 * JOIN_WAIT_MS with a QueueError naming the video (its job is retried). The joiner checks that it
 * still holds the lock just before finishVideo renames the joined output into place (its beforeCommit
 * hook): one that lost it (stalled past LOCK_MS, Redis failover) writes nothing and fails its job,
 * leaving the join to the new holder; its retry finds the video joined.
 */
export interface EnqueueVideoOptions extends Omit<FuseVideoOptions, 'resume' | 'progressTty' | 'onWarning' | 'providers'> {
  /** Redis URL, e.g. redis://host:6379. */
  redis: string;
  /** Queue name (default 'tesg'); workers must use the same. */
  queue?: string;
  /** Tries per chunk before it goes to the failed set (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled each retry (default 1000). */
  backoffMs?: number;
}

export interface EnqueueVideoReport {
  /** Absolute output and work dir. */
  output: string;
  workDir: string;
  method: string;
  /** Chunks in the plan (0 when `fused`). */
  chunks: number;
  frames: number;
  /** Chunk indices of new jobs. */
  added: number[];
  /** Chunk indices whose job is already waiting, delayed, running or done (the video not yet joined). */
  queued: number[];
  /** Chunk indices whose job is in the failed set (`tesg queue retry-failed`). */
  failed: number[];
  /** The output exists and this queue recorded it as joined; nothing was planned or added. */
  fused: boolean;
}

/** Hold the join lock this long (ms) without renewal before another worker may take over. */
export const LOCK_MS = 60_000;

/**
 * Wait at most this long (ms) for the join lock: far longer than a dead holder keeps it (LOCK_MS) and
 * than joining a long video takes (a copy of the segments, no re-encoding); past it the job fails with
 * one line naming the video, and BullMQ retries it.
 */
export const JOIN_WAIT_MS = 10 * 60_000;

/** For tests: the join lock's ttl (LOCK_MS), wait (JOIN_WAIT_MS) and polling, and a hook in the join. */
export interface VideoJoinTestOptions extends RedisLockOptions {
  /**
   * Called once the joined output is built under its temp name, just before the joiner checks that it
   * still holds the lock and renames the output into place (throwing aborts the join as a lost lock does).
   */
  beforeCommit?: () => Promise<void>;
}

/** The identity of a plan: SHA-256 (hex) of plan.json's settings (the spelling of the input paths aside). */
export function planHash(plan: VideoPlan): string {
  const norm = { ...plan, ir: { ...plan.ir, path: undefined }, vi: { ...plan.vi, path: undefined } };
  return createHash('sha256').update(`tesg-video-${JOB_FORMAT}\n${canonicalJson(norm)}`).digest('hex');
}

/** BullMQ id of chunk `index`: `video-chunk.<output name>-c<index>.<24 hex of the plan hash>` (the hash covers the work dir). */
export function videoChunkJobId(plan: VideoPlan, index: number, hash: string): string {
  return jobId('video-chunk', `${path.basename(plan.output).slice(0, 60)}-c${index}`, hash);
}

/** Redis key of the join lock of one plan. */
export function finishLockKey(queue: string, hash: string): string {
  return `tesg:${queue}:video-finish:${hash.slice(0, 24)}`;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Plan `ir` + `vi` -> `out` (as planVideo; an existing work dir of the same settings is continued, one
 * of other settings is refused naming them) and add one job per chunk. Idempotent: adding again adds
 * nothing while the jobs exist, and nothing once the video is joined (`fused`); a chunk whose job
 * completed but whose segment is gone is added again. Errors: as planVideo (UsageError, InputError),
 * QueueError when Redis cannot be reached.
 */
export async function enqueueVideo(ir: string, vi: string, out: string, opts: EnqueueVideoOptions): Promise<EnqueueVideoReport> {
  const attempts = positiveInt('attempts', opts.attempts ?? DEFAULT_ATTEMPTS);
  const backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
  const queueName = opts.queue ?? DEFAULT_QUEUE;
  const output = path.resolve(out);
  const workDir = workDirFor(output);
  const redis = await openRedis(opts.redis);
  try {
    const hasPlan = await fs.stat(planFile(workDir)).then(() => true, () => false);
    const outputExists = await fs.stat(output).then(() => true, () => false);
    if (!hasPlan && outputExists && (await redis.hget(fusedKey(queueName), output)) !== null) {
      return { output, workDir, method: opts.method ?? '', chunks: 0, frames: 0, added: [], queued: [], failed: [], fused: true };
    }
    // The worker's --threads applies, not the adder's (as `queue add`).
    const params = opts.params && Object.fromEntries(Object.entries(opts.params).filter(([k]) => k !== 'threads'));
    const plan = await planVideo(ir, vi, out, { ...opts, params, resume: true });
    const hash = planHash(plan);
    const n = chunkCount(plan);
    const report: EnqueueVideoReport = { output, workDir, method: plan.method, chunks: n, frames: plan.pairing.frames, added: [], queued: [], failed: [], fused: false };
    const queue = openQueue(opts.redis, queueName);
    try {
      const jobOpts: JobsOptions = { attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: false, removeOnFail: false };
      const done = new Set(await completedChunks(plan));
      const toAdd: number[] = [];
      const completedJobs: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = videoChunkJobId(plan, i, hash);
        const state = await queue.getJobState(id);
        if (state === 'failed') report.failed.push(i);
        else if (state === 'completed' && done.has(i)) completedJobs.push(i);
        else if (state === 'completed' || state === 'unknown') {
          if (state === 'completed') await queue.remove(id); // done once, but its segment is gone
          toAdd.push(i);
        } else report.queued.push(i);
      }
      // Every job completed, yet the video was not joined (its joiner died and no job is left to
      // retry it): run the last chunk again; its segment exists, so it only joins.
      if (completedJobs.length === n && n > 0) {
        await queue.remove(videoChunkJobId(plan, n - 1, hash));
        completedJobs.pop();
        toAdd.push(n - 1);
      }
      report.queued.push(...completedJobs);
      const job = (index: number): VideoChunkQueueJob => ({
        kind: 'video-chunk', format: JOB_FORMAT, workDir: plan.workDir, index, stem: `${path.basename(plan.output)}:${index + 1}/${n}`, output: plan.output, chunks: n, hash,
      });
      if (toAdd.length > 0) {
        await queue.addBulk(toAdd.map((i) => ({ name: 'video-chunk', data: job(i), opts: { ...jobOpts, jobId: videoChunkJobId(plan, i, hash) } })));
      }
      report.added = toAdd.sort((a, b) => a - b);
      report.queued.sort((a, b) => a - b);
      return report;
    } finally {
      await queue.close();
    }
  } finally {
    redis.disconnect();
  }
}

export interface VideoChunkResult {
  /** The segment written (or found), or the output when this job joined the video. */
  out: string;
  seconds: number;
  /** Always false: a changed input is refused (the plan's fingerprints), never fused silently. */
  inputsChanged: boolean;
  /** The segment existed already (a retried or repeated job). */
  skipped: boolean;
  /** This job joined the video into its output. */
  joined: boolean;
}

/** Temp segments of chunk `index` left by a killed worker (`chunk-NNNNNN[.ts].tmp-<pid>-<ms>`). */
async function removeLeftovers(plan: VideoPlan, index: number): Promise<void> {
  const prefix = `${path.basename(segmentPath(plan, index))}.tmp-`;
  const names = await fs.readdir(plan.workDir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => fs.rm(path.join(plan.workDir, n), { recursive: true, force: true })));
}

/**
 * Run a 'video-chunk' job: fuse its chunk into its segment (skipped when the segment exists), then, if
 * every segment of the plan exists, join the video under the plan's Redis lock (see the top of this
 * file; `testOptions` override its ttl, wait and polling and add a hook before the commit). A job whose
 * work dir is gone because its video was already joined (a repeated job) succeeds and does nothing.
 * Errors: the plan's or ffmpeg's (TesgError, InputError, EncodeError), a plan changed since enqueue,
 * QueueError when the join lock was not free within the wait or was lost before the rename.
 */
export async function runVideoChunkQueueJob(job: ProgressSink, d: VideoChunkQueueJob, ctx: PairContext, testOptions: VideoJoinTestOptions = {}): Promise<VideoChunkResult> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  await job.updateProgress(1);
  if (await alreadyJoined(d, ctx)) return { out: d.output, seconds: seconds(), inputsChanged: false, skipped: true, joined: false };
  const plan = await readPlan(d.workDir);
  if (planHash(plan) !== d.hash) throw new TesgError(`${d.workDir}: the plan changed since this job was added (the folder was deleted and planned again with other settings); drain this job`);
  await removeLeftovers(plan, d.index);
  const range = chunkRange(plan, d.index);
  let fused = 0;
  const params = ctx.threads === undefined ? plan.params : { ...plan.params, threads: ctx.threads };
  const r = await fuseVideoChunk({ ...plan, params }, d.index, {
    onFrame: () => void job.updateProgress(Math.min(95, Math.round((100 * ++fused) / (range.end - range.start)))).catch(() => {}),
  });
  const joined = await finishIfComplete(plan, d, ctx, testOptions);
  return { out: joined ? d.output : r.segment, seconds: seconds(), inputsChanged: false, skipped: r.skipped, joined };
}

/** The work dir is gone and this queue recorded the output as joined from this plan. */
async function alreadyJoined(d: VideoChunkQueueJob, ctx: PairContext): Promise<boolean> {
  if (await exists(planFile(d.workDir))) return false;
  return (await ctx.redis.hget(fusedKey(ctx.queue), d.output)) === d.hash;
}

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

/**
 * Join the video if every segment exists; true when this call joined it. Under the lock: a work dir
 * already gone means a holder before us joined it (nothing to do); an output already complete means a
 * holder renamed it into place and died before cleaning up (only its record and the work dir's removal
 * are left: the output is not written again). Otherwise join it with finishVideo (temp files of its
 * own name, the work dir kept), which calls back, with the output built under its temp name, for the
 * lock check (`lock.assertHeld()`, which throws if the lock is lost: finishVideo then writes nothing
 * and removes its temp files) right before its rename. Then record the output as joined and remove the
 * work dir, in that order, so a crash between any two steps leaves a state the job's retry finishes.
 */
async function finishIfComplete(plan: VideoPlan, d: VideoChunkQueueJob, ctx: PairContext, testOptions: VideoJoinTestOptions): Promise<boolean> {
  if ((await completedChunks(plan)).length < chunkCount(plan)) return false;
  const { beforeCommit, ...lockOptions } = testOptions;
  return withRedisLock(
    ctx.redis,
    finishLockKey(ctx.queue, d.hash),
    async (lock) => {
      if (!(await exists(planFile(plan.workDir)))) return false;
      // Under the lock no other worker is joining: any temp output is a dead (or lost) joiner's.
      await removeJoinLeftovers(plan.output);
      const complete = await outputComplete(plan);
      if (complete) await lock.assertHeld();
      else {
        await finishVideo(plan, {
          tempTag: `${JOIN_TAG}${randomBytes(8).toString('hex')}`,
          keepWorkDir: true,
          beforeCommit: async () => {
            await beforeCommit?.();
            await lock.assertHeld();
          },
        }).catch(async (err: unknown) => {
          await lock.assertHeld(); // a lost joiner whose temp the new holder removed says so, not "damaged"
          throw err;
        });
      }
      await ctx.redis.hset(fusedKey(ctx.queue), plan.output, d.hash);
      await fs.rm(plan.workDir, { recursive: true, force: true });
      return !complete;
    },
    { ttlMs: LOCK_MS, waitMs: JOIN_WAIT_MS, pollMs: 500, what: `video ${plan.output}`, ...lockOptions },
  );
}

/** Start of a joiner's finishVideo temp tag: its temp output is `.<output name>.join-<16 hex>.tmp` beside the output. */
const JOIN_TAG = 'join-';

async function removeJoinLeftovers(output: string): Promise<void> {
  const prefix = `.${path.basename(output)}.${JOIN_TAG}`;
  const names = await fs.readdir(path.dirname(output)).catch(() => [] as string[]);
  const leftovers = names.filter((n) => n.startsWith(prefix) && /^[0-9a-f]+\.tmp$/.test(n.slice(prefix.length)));
  // A lost joiner may still be adding to its temp folder: then removing it fails, and is left for later.
  await Promise.all(leftovers.map((n) => fs.rm(path.join(path.dirname(output), n), { recursive: true, force: true }).catch(() => {})));
}

const segmentsOf = (plan: VideoPlan) => [...Array(chunkCount(plan)).keys()].map((i) => segmentPath(plan, i));

/**
 * The output is this plan's join, renamed into place by a joiner that then died: a frames folder holding
 * exactly the segments' frames (planVideo refused a non-empty folder, so only a join fills it), or a
 * video with the plan's frame count written after every segment (an older file at that path is not).
 */
async function outputComplete(plan: VideoPlan): Promise<boolean> {
  const segments = segmentsOf(plan);
  if (plan.kind === 'dir') {
    const names = await fs.readdir(plan.output).catch(() => [] as string[]);
    if (names.length === 0) return false;
    let frames = 0;
    for (const seg of segments) {
      for (const name of await fs.readdir(seg)) {
        frames++;
        const [a, b] = await Promise.all([fs.stat(path.join(seg, name)), fs.stat(path.join(plan.output, name)).catch(() => null)]);
        if (b === null || a.size !== b.size) return false;
      }
    }
    return frames === names.length;
  }
  const out = await fs.stat(plan.output).catch(() => null);
  if (!out?.isFile()) return false;
  for (const seg of segments) if ((await fs.stat(seg)).mtimeMs > out.mtimeMs) return false;
  return (await countFrames(plan.output)) === plan.pairing.frames;
}

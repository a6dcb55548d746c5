import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { TesgError, UsageError } from '../errors.js';
import { fuseVideoChunk } from '../video/chunk.js';
import { finishVideo } from '../video/finish.js';
import { planVideo, type FuseVideoOptions } from '../video/fuse-video.js';
import { chunkCount, chunkRange, completedChunks, planFile, readPlan, segmentPath, workDirFor, type VideoPlan } from '../video/plan.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, DEFAULT_QUEUE } from './defaults.js';
import { canonicalJson, JOB_FORMAT, jobId, type VideoChunkQueueJob } from './job.js';
import type { PairContext, ProgressSink } from './pair.js';
import { fusedKey, openQueue, openRedis, RELEASE_LOCK, RENEW_LOCK } from './redis.js';

/**
 * Fusing one long video on many machines: `tesg queue add-video` plans the video exactly as `tesg
 * fuse-video` does (src/video/: `OUT.tesg-work/plan.json`, absolute paths) and adds one 'video-chunk'
 * job per chunk; `tesg worker` fuses a chunk into its segment with the same code as fuse-video
 * (fuseVideoChunk), so the joined output is the same. The job that finds every segment complete
 * joins the video (finishVideo) under a Redis lock, so exactly one worker joins it: the others wait
 * until it is joined, or take over when the joiner dies (the lock expires after LOCK_MS unrenewed).
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Run a 'video-chunk' job: fuse its chunk into its segment (skipped when the segment exists), then, if
 * every segment of the plan exists, join the video: one worker at a time holds the plan's Redis lock
 * (renewed every LOCK_MS / 3); the others wait for the work dir to go, or take the lock when it is
 * released or expires without the video joined. A job whose work dir is gone because its video was
 * already joined (a repeated job) succeeds and does nothing. Errors: the plan's or ffmpeg's (TesgError,
 * InputError, EncodeError), a plan changed since enqueue.
 */
export async function runVideoChunkQueueJob(job: ProgressSink, d: VideoChunkQueueJob, ctx: PairContext): Promise<VideoChunkResult> {
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
  const joined = await finishIfComplete(plan, d, ctx);
  return { out: joined ? d.output : r.segment, seconds: seconds(), inputsChanged: false, skipped: r.skipped, joined };
}

/** The work dir is gone and this queue recorded the output as joined from this plan. */
async function alreadyJoined(d: VideoChunkQueueJob, ctx: PairContext): Promise<boolean> {
  if (await fs.stat(planFile(d.workDir)).then(() => true, () => false)) return false;
  return (await ctx.redis.hget(fusedKey(ctx.queue), d.output)) === d.hash;
}

/** Join the video if every segment exists; true when this call joined it. */
async function finishIfComplete(plan: VideoPlan, d: VideoChunkQueueJob, ctx: PairContext): Promise<boolean> {
  if ((await completedChunks(plan)).length < chunkCount(plan)) return false;
  const key = finishLockKey(ctx.queue, d.hash);
  const token = `${process.pid}.${randomBytes(8).toString('hex')}`;
  for (;;) {
    if (await alreadyJoined(d, ctx)) return false;
    if ((await ctx.redis.set(key, token, 'PX', LOCK_MS, 'NX')) === 'OK') break;
    await sleep(500);
  }
  const renew = setInterval(() => void ctx.redis.eval(RENEW_LOCK, 1, key, token, String(LOCK_MS)).catch(() => {}), LOCK_MS / 3);
  try {
    // Joined by the holder before us (the work dir is gone), or not: join it.
    if (!(await fs.stat(planFile(plan.workDir)).then(() => true, () => false))) return false;
    await finishVideo(plan);
    await ctx.redis.hset(fusedKey(ctx.queue), plan.output, d.hash);
    return true;
  } finally {
    clearInterval(renew);
    await ctx.redis.eval(RELEASE_LOCK, 1, key, token).catch(() => {});
  }
}

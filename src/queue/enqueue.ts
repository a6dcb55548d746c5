import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobsOptions } from 'bullmq';
import { UsageError } from '../errors.js';
import { getFusionMethod, planFolderPairs, type FolderPair } from '../fusion/index.js';
import { defaultFuseMethod } from '../fusion/tesg-method.js';
import { DEFAULT_STRETCH, type Stretch16 } from '../image/depth16.js';
import { DEFAULT_JPEG_QUALITY } from '../image/write.js';
import { checkResumeInto, commandLine } from '../report/provenance.js';
import { jobFuseRecord } from './manifest.js';
import { createProgress } from '../util/progress.js';
import { JOB_FORMAT, jobId, pairHash, type JobFuseOptions, type PairJob } from './job.js';
import { ensureTesgMethod } from './methods.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, DEFAULT_QUEUE } from './defaults.js';
import { fusedKey, openQueue, openRedis } from './redis.js';

/**
 * `tesg queue add`: one job per IR/VI pair of two folders (paired by name stem exactly as `tesg fuse
 * --ir --vi --out` pairs them, same output names), idempotent: the job id holds a hash of both
 * inputs' bytes, the options and the output path, so adding a folder again adds only what changed.
 */
export interface EnqueueOptions {
  /** Redis URL, e.g. redis://host:6379. */
  redis: string;
  /** Queue name (default 'tesg'); workers must use the same. */
  queue?: string;
  ir: string;
  vi: string;
  out: string;
  /** Fusion method (default: tesg when the shipped weights are there, else laplacian; as `tesg fuse`). */
  method?: string;
  stretch?: Stretch16;
  gray?: boolean;
  quality?: number;
  /** Method settings (tesg: weights, backend, tile, caption, keyword, sig). `threads` is the worker's. */
  params?: Record<string, string | number | boolean | string[]>;
  /** Enqueue the complete pairs even if some files have no partner (default: fail, listing them). */
  allowMissing?: boolean;
  /** Count an existing output that the queue has no record of as fused (e.g. from `tesg fuse`). */
  skipExisting?: boolean;
  /** Tries per job before it goes to the failed set (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled each retry (default 1000). */
  backoffMs?: number;
  progressTty?: boolean;
  /** The command line recorded in the output folder's tesg-fuse.json (default: this process's, as `tesg ...`). */
  command?: string;
}

export interface EnqueueReport {
  method: string;
  /** Stems of new jobs. */
  added: string[];
  /** Stems whose job is already waiting, delayed or running. */
  queued: string[];
  /** Stems whose job is in the failed set (`tesg queue retry-failed` runs them again). */
  failed: string[];
  /** Stems whose output was written from these very inputs and options. */
  fused: string[];
  unmatched: Record<string, string[]>;
}

const CHUNK = 64;

/** Paths inside params resolved here, so a worker with another working folder finds them. */
function absoluteParams(params: EnqueueOptions['params'] = {}): JobFuseOptions['params'] {
  const out: JobFuseOptions['params'] = {};
  for (const [k, v] of Object.entries(params)) {
    if (k === 'threads' || v === undefined) continue;
    out[k] = (k === 'weights' || k === 'sig') && typeof v === 'string' ? path.resolve(v) : v;
  }
  return out;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** Add one job per pair; see EnqueueReport for what each stem's outcome means. Errors: as planFolderPairs, QueueError. */
export async function enqueueFolder(opts: EnqueueOptions): Promise<EnqueueReport> {
  ensureTesgMethod();
  const method = getFusionMethod(opts.method ?? defaultFuseMethod()).name;
  const fuse: JobFuseOptions = {
    method,
    stretch: opts.stretch ?? DEFAULT_STRETCH,
    gray: Boolean(opts.gray),
    quality: opts.quality ?? DEFAULT_JPEG_QUALITY,
    params: absoluteParams(opts.params),
  };
  const run = { command: opts.command ?? commandLine(), added: new Date().toISOString() };
  const attempts = positiveInt('attempts', opts.attempts ?? DEFAULT_ATTEMPTS);
  const backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
  const [ir, vi, out] = [opts.ir, opts.vi, opts.out].map((p) => path.resolve(p));
  const { pairs, unmatched } = await planFolderPairs(ir, vi, out, { ...fuse, allowMissing: opts.allowMissing });
  if (opts.skipExisting) {
    // outputs counted as fused without a look: only when the folder's record says they were made this way
    const run = await jobFuseRecord(fuse, 0);
    await checkResumeInto(out, run, pairs.filter((p) => p.exists).map((p) => p.out), 'drop --skip-existing to fuse them again, or give another --out');
  }
  const queueName = opts.queue ?? DEFAULT_QUEUE;
  const redis = await openRedis(opts.redis);
  const queue = openQueue(opts.redis, queueName);
  const report: EnqueueReport = { method, added: [], queued: [], failed: [], fused: [], unmatched };
  const jobOpts: JobsOptions = { attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: false, removeOnFail: false };
  const progress = createProgress({ label: 'queue add', total: pairs.length, tty: opts.progressTty });
  try {
    for (let i = 0; i < pairs.length; i += CHUNK) {
      const chunk = pairs.slice(i, i + CHUNK);
      const toAdd = (await Promise.all(chunk.map((p) => classify(p)))).filter((j): j is PairJob => j !== null);
      if (toAdd.length > 0) await queue.addBulk(toAdd.map((data) => ({ name: data.kind, data, opts: { ...jobOpts, jobId: jobId('pair', data.stem, data.hash) } })));
      report.added.push(...toAdd.map((j) => j.stem));
      progress.tick(chunk.length);
    }
  } finally {
    progress.done();
    await queue.close();
    redis.disconnect();
  }
  for (const list of [report.added, report.queued, report.failed, report.fused]) list.sort();
  return report;

  /** The job to add for this pair, or null (recorded in the report as queued / failed / fused). */
  async function classify(p: FolderPair): Promise<PairJob | null> {
    const hash = await pairHash(p.ir, p.vi, p.out, fuse);
    const exists = await fs.stat(p.out).then(() => true, () => false);
    if (exists && (opts.skipExisting || (await redis.hget(fusedKey(queueName), p.out)) === hash)) {
      report.fused.push(p.stem);
      return null;
    }
    const id = jobId('pair', p.stem, hash);
    const state = await queue.getJobState(id);
    if (state === 'failed') {
      report.failed.push(p.stem);
      return null;
    }
    if (state === 'completed') {
      // Done once, but the output is gone or was since written from other inputs: run it again.
      await queue.remove(id);
    } else if (state !== 'unknown') {
      report.queued.push(p.stem);
      return null;
    }
    return { kind: 'pair', format: JOB_FORMAT, stem: p.stem, ir: p.ir, vi: p.vi, out: p.out, fuse, hash, run };
  }
}

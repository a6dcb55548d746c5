import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { fuseFiles, type FuseStage } from '../fusion/index.js';
import { pairHash, type PairJob } from './job.js';
import { FUSE_MANIFEST } from '../report/provenance.js';
import { recordPairOutput } from './manifest.js';
import { fusedKey } from './redis.js';

/**
 * Running a 'pair' job: fuseFiles (src/fusion/files.ts), the very function `tesg fuse` calls for each
 * pair, with the options the job was enqueued with, so the output bytes are the same. It writes
 * atomically (temp file + rename); a temp file left by a worker killed mid-write is removed first.
 * Afterwards the output is counted in its folder's tesg-fuse.json (./manifest.ts, as `tesg fuse` records
 * its runs) and recorded as fused from these inputs (`tesg queue add` then skips it). The image is the
 * job's work: a failure to record it in tesg-fuse.json (a damaged manifest, a lock timeout) is a
 * one-line warning on stderr, not a failed job (a retry would fuse the pair again for nothing).
 */
export interface PairContext {
  redis: Redis;
  queue: string;
  /** The worker's --threads: the tesg method's onnxruntime threads (not part of the job's identity). */
  threads?: number;
}

export interface PairResult {
  out: string;
  seconds: number;
  /** The inputs changed between `queue add` and this run; the current files were fused. */
  inputsChanged: boolean;
}

/** Job progress (%) after each stage of fuseFiles. */
const STAGE_PERCENT: Record<FuseStage, number> = { read: 20, fused: 90, written: 100 };

/** Temp files of writeFileAtomic for `out` (`.<name>.<pid>.<ms>.tmp`, src/util/atomic.ts). */
async function removeLeftovers(out: string): Promise<void> {
  const dir = path.dirname(out);
  const prefix = `.${path.basename(out)}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.filter((n) => n.startsWith(prefix) && /^\.\d+\.\d+\.tmp$/.test(n.slice(prefix.length - 1))).map((n) => fs.rm(path.join(dir, n), { force: true })),
  );
}

/** What a job offers its handler (a BullMQ Job or SandboxedJob). */
export interface ProgressSink {
  updateProgress(percent: number): Promise<void>;
}

export async function runPairJob(job: ProgressSink, d: PairJob, ctx: PairContext): Promise<PairResult> {
  const t0 = performance.now();
  await job.updateProgress(1);
  await removeLeftovers(d.out);
  const hash = await pairHash(d.ir, d.vi, d.out, d.fuse);
  const params = ctx.threads === undefined ? d.fuse.params : { ...d.fuse.params, threads: ctx.threads };
  await fuseFiles(d.ir, d.vi, d.out, {
    ...d.fuse,
    params,
    // Progress is a report, not a step of the work: a lost update must not fail the pair.
    onStage: (stage) => void job.updateProgress(STAGE_PERCENT[stage]).catch(() => {}),
  });
  try {
    await recordPairOutput(ctx.redis, ctx.queue, d);
  } catch (err) {
    const why = ((err as Error).message ?? String(err)).split('\n')[0];
    process.stderr.write(`tesg: warning: ${d.out} is written but not counted in ${path.join(path.dirname(d.out), FUSE_MANIFEST)}: ${why}\n`);
  }
  await ctx.redis.hset(fusedKey(ctx.queue), d.out, hash);
  return { out: d.out, seconds: (performance.now() - t0) / 1000, inputsChanged: hash !== d.hash };
}

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { chooseBackend, DEFAULT_WEIGHTS_FILE } from '../fusion/tesg-method.js';
import { fuseRunRecord, mergeFuseManifest, type FuseManifest, type FuseRunRecord } from '../report/provenance.js';
import type { PairJob } from './job.js';
import { withRedisLock } from './redis.js';

/**
 * The provenance record of queue outputs: a pair job, once its image is written, counts itself in
 * its output folder's `tesg-fuse.json`, the manifest `tesg fuse` writes (src/report/provenance.ts),
 * with the same fields (method, weights file + SHA-256 + backend, SIG, tesg version, date, fused),
 * so `tesg eval --html` tells what made the images either way. One entry per `tesg queue add` (its
 * command line and time travel in the job), whose `fused` grows as jobs finish, not one per job: a
 * folder of 10,000 pairs keeps a short manifest, and the report reads one file as before.
 *
 * Workers on several machines finish jobs into the same folder at once, so the read-modify-write of
 * the file runs under a per-folder Redis lock (every worker already shares that Redis; file locks on a
 * shared network filesystem are not reliable across machines), and the file is replaced atomically
 * (temp file + rename), so readers never see half of it. A job retried after a crash between this
 * record and its completion counts twice in `fused` (its image was written twice).
 */

/** Redis key of the manifest lock of output folder `dir` (24 hex digits of its path's SHA-256). */
export function manifestLockKey(queue: string, dir: string): string {
  return `tesg:${queue}:manifest:${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 24)}`;
}

/** The manifest entry of a pair job as `tesg fuse` would write it for one image, with the job's `queue add` command and time. */
export async function pairJobRecord(d: PairJob, queue: string): Promise<FuseRunRecord> {
  const { method, params } = d.fuse;
  const weightsFile = method === 'tesg' ? (typeof params.weights === 'string' ? params.weights : DEFAULT_WEIGHTS_FILE) : undefined;
  const backend = weightsFile ? chooseBackend(weightsFile, typeof params.backend === 'string' ? params.backend : undefined) : undefined;
  const run = await fuseRunRecord({ method, params, weightsFile, backend, fused: 1, skipped: 0 });
  return {
    ...run,
    command: typeof d.run?.command === 'string' ? d.run.command : 'tesg queue add (command not recorded by this job)',
    queue: { name: queue, added: typeof d.run?.added === 'string' ? d.run.added : null },
  };
}

/** The same `queue add` with the same settings and tesg version: counted in one entry. */
function sameRun(a: FuseRunRecord, b: FuseRunRecord): boolean {
  const key = (r: FuseRunRecord) => JSON.stringify([r.queue?.name, r.queue?.added, r.command, r.tesgVersion, r.method, r.weights, r.sig]);
  return a.queue !== undefined && key(a) === key(b);
}

/** Count the output of pair job `d` in its folder's tesg-fuse.json, under the folder's Redis lock; returns the manifest written. */
export async function recordPairOutput(redis: Redis, queue: string, d: PairJob): Promise<FuseManifest> {
  const dir = path.dirname(d.out);
  const run = await pairJobRecord(d, queue);
  return withRedisLock(redis, manifestLockKey(queue, dir), () => mergeFuseManifest(dir, run, (earlier) => sameRun(earlier, run)));
}

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { chooseBackend, weightsFileOf } from '../fusion/tesg-method.js';
import { FUSE_MANIFEST, fuseRunRecord, mergeFuseManifest, type FuseManifest, type FuseRunRecord } from '../report/provenance.js';
import type { PairJob } from './job.js';
import { withRedisLock, type RedisLockOptions } from './redis.js';

/**
 * The provenance record of queue outputs: a pair job, once its image is written, counts itself in
 * its output folder's `tesg-fuse.json`, the manifest `tesg fuse` writes (src/report/provenance.ts),
 * with the same fields (method, weights file + SHA-256 + backend, SIG, tesg version, date, fused),
 * so `tesg eval --html` tells what made the images either way. One entry per `tesg queue add` (its
 * command line and time travel in the job), whose `fused` grows as jobs finish, not one per job: a
 * folder of 10,000 pairs keeps a short manifest, and the report reads one file as before.
 *
 * The counts live in Redis, the file is written from them. Each job adds its output's name to a Redis
 * set per folder and entry (SADD: atomic, and idempotent, so a job retried after a crash between its
 * record and its completion counts once); then, under the folder's Redis lock, it writes the file
 * with that entry's `fused` = the set's size. Workers on several machines finish jobs into the same
 * folder at once, so the read-modify-write of the file runs under the lock (every worker already
 * shares that Redis; file locks on a shared network filesystem are not reliable across machines),
 * keyed by the folder's resolved path only (queues writing the same folder share it); the lock is
 * checked, and extended, just before the file is replaced, and a holder that lost it writes nothing.
 * Whatever stops a write (a lost lock, a timeout, a crash) loses no count: the next job into the
 * folder writes the totals. The file is replaced atomically (temp file + rename), so readers never
 * see half of it.
 */

/** Redis key prefix of output folder `dir`'s manifest state (24 hex digits of its resolved path's SHA-256). */
function folderKey(dir: string): string {
  return `tesg:folder:${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 24)}`;
}

/** Redis key of the manifest lock of output folder `dir`: the folder alone, whatever queue writes into it. */
export function manifestLockKey(dir: string): string {
  return `${folderKey(dir)}:manifest-lock`;
}

/** Redis set of the output names that manifest entry `run` (a `queue add`, see sameRun) wrote into `dir`. */
export function runOutputsKey(dir: string, run: FuseRunRecord): string {
  return `${folderKey(dir)}:outputs:${createHash('sha256').update(runIdentity(run)).digest('hex').slice(0, 24)}`;
}

/** The manifest entry of a pair job as `tesg fuse` would write it for one image, with the job's `queue add` command and time. */
export async function pairJobRecord(d: PairJob, queue: string): Promise<FuseRunRecord> {
  const run = await jobFuseRecord(d.fuse, 1);
  return {
    ...run,
    command: typeof d.run?.command === 'string' ? d.run.command : 'tesg queue add (command not recorded by this job)',
    queue: { name: queue, added: typeof d.run?.added === 'string' ? d.run.added : null },
  };
}

/** The record of `fused` outputs made with a job's fuse options (weights and backend resolved as `tesg fuse` does). */
export async function jobFuseRecord({ method, params }: Pick<PairJob['fuse'], 'method' | 'params'>, fused: number): Promise<FuseRunRecord> {
  const weightsFile = method === 'tesg' ? weightsFileOf(params) : undefined;
  const backend = weightsFile ? chooseBackend(weightsFile, typeof params.backend === 'string' ? params.backend : undefined) : undefined;
  return fuseRunRecord({ method, params, weightsFile, backend, fused, skipped: 0 });
}

/** What makes two records one entry: the same `queue add` with the same settings and tesg version. */
function runIdentity(r: FuseRunRecord): string {
  return JSON.stringify([r.queue?.name, r.queue?.added, r.command, r.tesgVersion, r.method, r.weights, r.sig]);
}

function sameRun(a: FuseRunRecord, b: FuseRunRecord): boolean {
  return a.queue !== undefined && runIdentity(a) === runIdentity(b);
}

/** Temp files of writeFileAtomic for the manifest (`.tesg-fuse.json.<pid>.<ms>.tmp`, src/util/atomic.ts) left by a writer that died. */
async function removeManifestLeftovers(dir: string): Promise<void> {
  const leftover = new RegExp(`^\\.${FUSE_MANIFEST.replace(/\./g, '\\.')}\\.\\d+\\.\\d+\\.tmp$`);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => leftover.test(n)).map((n) => fs.rm(path.join(dir, n), { force: true })));
}

/**
 * Count the output of pair job `d` in its folder's tesg-fuse.json (see above); returns the manifest
 * written. Errors: readFuseManifest's InputError (a damaged or foreign tesg-fuse.json, left as it is),
 * withRedisLock's QueueError (timeout, lost lock), Redis's; in every case the output stays counted
 * in Redis, and the next job into the folder writes it.
 */
export async function recordPairOutput(redis: Redis, queue: string, d: PairJob, lockOptions: RedisLockOptions = {}): Promise<FuseManifest> {
  const dir = path.dirname(path.resolve(d.out));
  const run = await pairJobRecord(d, queue);
  const outputs = runOutputsKey(dir, run);
  await redis.sadd(outputs, path.basename(d.out));
  return withRedisLock(
    redis,
    manifestLockKey(dir),
    async (lock) => {
      // Under the lock no other worker is writing the manifest: any temp file of it is a dead writer's.
      await removeManifestLeftovers(dir);
      const fused = await redis.scard(outputs);
      return mergeFuseManifest(dir, { ...run, fused }, (earlier) => sameRun(earlier, run), { counts: 'set', beforeWrite: () => lock.assertHeld() });
    },
    { what: `output folder ${dir}`, ...lockOptions },
  );
}

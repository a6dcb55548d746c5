import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import type { Stretch16 } from '../image/depth16.js';
import type { VideoChunkJob } from '../video/chunk.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256OfFile } from '../util/file-hash.js';
import { modelDigest } from '../fusion/model-digest.js';

export { canonicalJson };

/**
 * What a queue job carries, and its id. A job is one unit of work of some `kind`: 'pair' (one IR/VI
 * pair -> one fused image) or 'video-chunk' (frames a..b of one video -> one segment in its work dir;
 * the job that completes the last segment joins the video, ./video.ts). A new kind adds an interface
 * to the TesgJob union and a handler in ./processor.ts's HANDLERS; the queue, the ids, the status and
 * the retry logic stay as they are.
 *
 * Paths are absolute: every worker must see the inputs and the output folder at the same paths
 * (a shared filesystem), so the job can be run on any machine.
 */
/** 2: a pair's hash covers the tesg model files' bytes (methodDigest); 1 hashed their paths only. */
export const JOB_FORMAT = 2;

/** The fuse options a job is fused with: exactly what fuseFiles takes (src/fusion/files.ts). */
export interface JobFuseOptions {
  method: string;
  stretch: Stretch16;
  gray: boolean;
  quality: number;
  /** The method's settings (tesg: weights, backend, tile, caption, keyword, sig); paths absolute. */
  params: Record<string, string | number | boolean | string[]>;
}

export interface PairJob {
  kind: 'pair';
  format: typeof JOB_FORMAT;
  stem: string;
  ir: string;
  vi: string;
  /** outDir/<stem>.png, as `tesg fuse --out` names it. */
  out: string;
  fuse: JobFuseOptions;
  /** pairHash at enqueue time (inputs' bytes + options + output path). */
  hash: string;
  /**
   * Provenance only (not part of the hash or the id): the `tesg queue add` command line and when it
   * ran (ISO 8601), for the output folder's tesg-fuse.json (./manifest.ts). Absent in older jobs.
   */
  run?: { command: string; added: string };
}

/**
 * One chunk of a planned video (`tesg queue add-video`): `{ kind, workDir, index }` is what
 * src/video/chunk.ts's runVideoChunkJob takes; the rest identifies it and lets a late job see that
 * the video is already finished.
 */
export interface VideoChunkQueueJob extends VideoChunkJob {
  format: typeof JOB_FORMAT;
  /** Readable name for logs and status: `<output name>:<index + 1>/<chunks>`. */
  stem: string;
  /** The plan's absolute output path. */
  output: string;
  /** Chunks in the plan. */
  chunks: number;
  /** planHash of the work dir's plan at enqueue time. */
  hash: string;
}

/** Every job kind; the BullMQ job name is the kind. */
export type TesgJob = PairJob | VideoChunkQueueJob;
export type JobKind = TesgJob['kind'];

/** SHA-256 of a file's bytes (hex). A missing or unreadable file is an InputError naming it. */
export async function fileSha256(file: string): Promise<string> {
  try {
    return await sha256OfFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(file, 'no such file; check the path (on a worker: is the shared folder mounted at the same path?)');
    throw new InputError(file, `cannot read (${code ?? (err as Error).message})`);
  }
}

/**
 * The identity of a pair's work: SHA-256 (hex) over the IR and VI bytes, the fuse options, the
 * output path and, for the tesg method, the model files' bytes (methodDigest). Equal hash = the same
 * output bytes (fusion is deterministic), so the hash decides whether a pair is already fused and
 * makes a changed input, or a new model at the same path (a new default), a new job.
 */
export async function pairHash(ir: string, vi: string, out: string, fuse: JobFuseOptions): Promise<string> {
  const [irSha, viSha, model] = await Promise.all([fileSha256(ir), fileSha256(vi), methodDigest(fuse)]);
  return createHash('sha256')
    .update(`tesg-pair-${JOB_FORMAT}\n${irSha}\n${viSha}\n${out}\n${canonicalJson(fuse)}\n${model}`)
    .digest('hex');
}

/** The model files' digest of a job's method (src/fusion/model-digest.ts); '' for the classic methods. */
export function methodDigest(fuse: JobFuseOptions): Promise<string> {
  return modelDigest(fuse.method, fuse.params);
}

/**
 * BullMQ job id: kind, stem and 24 hex digits (96 bits) of the hash, e.g. `pair.00537D.3f9a...`.
 * The stem is kept readable (characters other than letters, digits, `_` and `-` become `_`); the hash
 * makes the id unique. Adding a job whose id exists is a no-op in BullMQ: that is the idempotence.
 */
export function jobId(kind: JobKind, stem: string, hash: string): string {
  return `${kind}.${stem.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80)}.${hash.slice(0, 24)}`;
}

/** The job's data checked for shape; anything else is an error that retrying cannot fix. */
export function parseJob(data: unknown): TesgJob {
  const kind = (data as { kind?: unknown } | null)?.kind;
  if (kind === 'video-chunk') return parseVideoChunkJob(data as Partial<VideoChunkQueueJob>);
  const d = data as Partial<PairJob> | null;
  if (d?.kind !== 'pair') {
    throw new Error(`unknown job kind '${String(d?.kind)}'; this worker knows: pair, video-chunk (update tesg on this machine)`);
  }
  if (d.format !== JOB_FORMAT) throw new Error(`job format ${String(d.format)}, this worker reads format ${JOB_FORMAT} (update tesg on every machine)`);
  for (const k of ['stem', 'ir', 'vi', 'out', 'hash'] as const) {
    if (typeof d[k] !== 'string') throw new Error(`malformed pair job: '${k}' is ${typeof d[k]}, expected a string`);
  }
  if (typeof d.fuse?.method !== 'string') throw new Error('malformed pair job: no fuse.method');
  return d as PairJob;
}

function parseVideoChunkJob(d: Partial<VideoChunkQueueJob>): VideoChunkQueueJob {
  if (d.format !== JOB_FORMAT) throw new Error(`job format ${String(d.format)}, this worker reads format ${JOB_FORMAT} (update tesg on every machine)`);
  for (const k of ['stem', 'workDir', 'output', 'hash'] as const) {
    if (typeof d[k] !== 'string') throw new Error(`malformed video-chunk job: '${k}' is ${typeof d[k]}, expected a string`);
  }
  for (const k of ['index', 'chunks'] as const) {
    if (!Number.isInteger(d[k]) || (d[k] as number) < 0) throw new Error(`malformed video-chunk job: '${k}' is ${String(d[k])}, expected an integer >= 0`);
  }
  if (d.index! >= d.chunks!) throw new Error(`malformed video-chunk job: index ${d.index} of ${d.chunks} chunks`);
  return d as VideoChunkQueueJob;
}

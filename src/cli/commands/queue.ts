import type { Command } from 'commander';
import { checkOutputPath } from '../../util/output-path.js';
import { UsageError } from '../../errors.js';
import { fusionMethodNames } from '../../fusion/index.js';
import { DEFAULT_STRETCH, STRETCH_MODES, type Stretch16 } from '../../image/depth16.js';
import { DEFAULT_JPEG_QUALITY } from '../../image/write.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, DEFAULT_QUEUE, DEFAULT_REDIS_URL, redactUrl } from '../../queue/defaults.js';
import { formatDuration } from '../../util/progress.js';
import { checkSigVersionOption, networkParams, parseQuality, type FuseCliOptions } from './fuse.js';
import { checkVideoOutput, videoCliOptions, videoOptions, type FuseVideoCliOptions } from './fuse-video.js';

/**
 * `tesg queue add | add-video | status | retry-failed | drain`: fill and steer the Redis job queue that
 * `tesg worker` processes on any number of machines. The work is in src/queue/ (loaded on use, so other commands
 * do not load BullMQ); this file parses and prints.
 */
interface TargetOptions {
  redis: string;
  queue: string;
}

type AddCliOptions = TargetOptions &
  Pick<FuseCliOptions, 'ir' | 'vi' | 'out' | 'method' | 'caption' | 'keyword' | 'stretch' | 'gray' | 'quality' | 'sig' | 'sigVersion' | 'weights' | 'backend' | 'tile' | 'allowMissing'> & {
    skipExisting?: boolean;
    attempts: string;
    backoff: string;
  };

/** --redis defaults to $TESG_REDIS_URL, else a Redis on this machine. */
export function redisOption(cmd: Command): Command {
  return cmd
    .option('--redis <url>', `Redis holding the queue (default: $TESG_REDIS_URL, else ${DEFAULT_REDIS_URL})`, process.env.TESG_REDIS_URL ?? DEFAULT_REDIS_URL)
    .option('--queue <name>', 'queue name; workers must use the same', DEFAULT_QUEUE);
}

export function intOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

async function runAdd(o: AddCliOptions): Promise<void> {
  if (!o.ir || !o.vi || !o.out) throw new UsageError('queue add needs all of --ir DIR --vi DIR --out DIR');
  // before Redis is reached or any job is added: the workers would each fail on it instead
  checkOutputPath(o.out, 'folder', '-o takes the output folder (created if missing) for the fused <stem>.png files');
  await checkSigVersionOption(o.sigVersion);
  const { enqueueFolder } = await import('../../queue/enqueue.js');
  const r = await enqueueFolder({
    redis: o.redis,
    queue: o.queue,
    ir: o.ir,
    vi: o.vi,
    out: o.out,
    method: o.method,
    stretch: o.stretch as Stretch16,
    gray: o.gray,
    quality: parseQuality(o.quality),
    params: networkParams({ ...o, threads: undefined }),
    allowMissing: o.allowMissing,
    skipExisting: o.skipExisting,
    attempts: intOption('attempts', o.attempts, 1),
    backoffMs: intOption('backoff', o.backoff, 0),
  });
  const lone = Object.values(r.unmatched).flat();
  if (lone.length > 0) process.stderr.write(`tesg: skipped ${lone.length} file(s) without a partner: ${lone.join(', ')}\n`);
  const there = r.queued.length + r.failed.length;
  const failedNote = r.failed.length > 0 ? ` (${r.failed.length} in the failed set: tesg queue retry-failed)` : '';
  process.stdout.write(
    `added ${r.added.length}, already there ${there}${failedNote}, already fused ${r.fused.length} -> queue '${o.queue}' at ${redactUrl(o.redis)} (${r.method})\n`,
  );
}

/** A list of chunk indices as `1-3, 5` (1-based, as the job names count). */
function chunkList(xs: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(i === j ? `${xs[i] + 1}` : `${xs[i] + 1}-${xs[j] + 1}`);
    i = j;
  }
  return parts.join(', ');
}

type AddVideoCliOptions = TargetOptions & FuseVideoCliOptions & { attempts: string; backoff: string };

async function runAddVideo(ir: string, vi: string, o: AddVideoCliOptions): Promise<void> {
  if (!o.out) throw new UsageError('missing -o OUT (a .mp4 or .mkv file, or a folder for PNG frames: -o DIR/), on a folder every worker sees');
  await checkVideoOutput(o.out);
  await checkSigVersionOption(o.sigVersion);
  const { enqueueVideo } = await import('../../queue/video.js');
  const r = await enqueueVideo(ir, vi, o.out, {
    ...videoOptions(o),
    redis: o.redis,
    queue: o.queue,
    attempts: intOption('attempts', o.attempts, 1),
    backoffMs: intOption('backoff', o.backoff, 0),
  });
  if (r.fused) {
    process.stdout.write(`added 0: ${o.out} was already joined by queue '${o.queue}' (delete it to fuse it again)\n`);
    return;
  }
  const failedNote = r.failed.length > 0 ? ` (chunks ${chunkList(r.failed)} in the failed set: tesg queue retry-failed)` : '';
  process.stdout.write(
    `added ${r.added.length} of ${r.chunks} chunk(s) (${r.frames} frames), already there ${r.queued.length + r.failed.length}${failedNote} -> queue '${o.queue}' at ${redactUrl(o.redis)} (${r.method}); ` +
      `the worker that fuses the last chunk joins ${o.out}\n`,
  );
}

async function runStatus(o: TargetOptions & { json?: boolean }): Promise<void> {
  const { queueStatus } = await import('../../queue/status.js');
  const s = await queueStatus({ redis: o.redis, queue: o.queue });
  if (o.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  const eta = s.etaSeconds === null ? '?' : formatDuration(s.etaSeconds);
  const lines = [
    `queue '${s.queue}' at ${redactUrl(o.redis)}: ${s.workers} worker(s) connected`,
    `waiting ${s.waiting}, active ${s.active}, delayed ${s.delayed} (retrying), done ${s.done}, failed ${s.failed}`,
    `${s.perSecond.toFixed(2)} jobs/s (pairs or video chunks) over the last minute, ETA ${eta}`,
  ];
  if (s.activeJobs.length > 0) {
    lines.push(`running${s.active > s.activeJobs.length ? ` (${s.activeJobs.length} of ${s.active})` : ''}:`);
    for (const a of s.activeJobs) lines.push(`  ${a.kind} ${a.stem} ${a.progress}%`);
  }
  if (s.failedJobs.length > 0) {
    lines.push(`failed jobs${s.failed > s.failedJobs.length ? ` (newest ${s.failedJobs.length} of ${s.failed})` : ''}:`);
    for (const f of s.failedJobs) lines.push(`  ${f.stem} after ${f.attempts} attempt(s): ${f.error}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export function register(program: Command): void {
  const queue = program.command('queue').description('a Redis job queue of pairs or video chunks to fuse on many machines (see `tesg worker`)');
  redisOption(
    queue
      .command('add')
      .description('enqueue one job per IR/VI pair (paired by name stem as `tesg fuse`); adding again adds only new or changed pairs')
      .option('--ir <dir>', 'folder of infrared images (every worker must see it at this path)')
      .option('--vi <dir>', 'folder of visible images, paired with --ir by name stem')
      .option('-o, --out <dir>', 'output folder (<stem>.png), shared by the workers')
      .option('-m, --method <name>', `fusion method: ${fusionMethodNames().join(', ')} (default as tesg fuse)`)
      .option('--caption <text>', 'tesg method: use this caption T instead of the SIG captioner')
      .option('--keyword <word>', 'tesg method: key object V* (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('--stretch <mode>', `16-bit to 8-bit mapping: ${STRETCH_MODES.join(', ')}`, DEFAULT_STRETCH)
      .option('--gray', 'write the fused gray image')
      .option('--quality <n>', 'JPEG quality 1..100', String(DEFAULT_JPEG_QUALITY))
      .option('--sig <dir>', 'tesg method: read M and F_t from this SIG cache')
      .option('--sig-version <v>', 'tesg method: built-in SIG v1 | v2 | v3 (default: the one the weights were trained with, as tesg fuse)')
      .option('--weights <file>', 'tesg method: weights (.safetensors)')
      .option('--backend <name>', 'tesg method: onnx or tfjs')
      .option('--tile <px>', 'tesg method, onnx: tile size, 0 = never')
      .option('--allow-missing', 'enqueue the complete pairs and list files without a partner, instead of failing')
      .option('--skip-existing', 'count outputs that exist but were not written by this queue as fused (e.g. from `tesg fuse`)')
      .option('--attempts <n>', 'tries per pair before it goes to the failed set', String(DEFAULT_ATTEMPTS))
      .option('--backoff <ms>', 'delay before the first retry, doubled for each next one', String(DEFAULT_BACKOFF_MS)),
  ).action(async (o: AddCliOptions) => runAdd(o));
  redisOption(
    videoCliOptions(
      queue
        .command('add-video')
        .description('plan a video fusion as `tesg fuse-video` and enqueue one job per chunk; the worker that completes the last chunk joins the output')
        .argument('<ir>', 'infrared video, folder of frames or pattern (every worker must see it at this path)')
        .argument('<vi>', 'visible video, folder or pattern; same frame size')
        .option('-o, --out <path>', 'output: OUT.mp4 or OUT.mkv (H.264), or DIR/ for PNG frames, on a folder every worker sees (segments go to OUT.tesg-work/)'),
    )
      .option('--attempts <n>', 'tries per chunk before it goes to the failed set', String(DEFAULT_ATTEMPTS))
      .option('--backoff <ms>', 'delay before the first retry, doubled for each next one', String(DEFAULT_BACKOFF_MS)),
  ).action(async (ir: string, vi: string, o: AddVideoCliOptions) => runAddVideo(ir, vi, o));
  redisOption(queue.command('status').description('counts, rate over the last minute, ETA, and the failed jobs with their errors'))
    .option('--json', 'print the status as JSON')
    .action(async (o: TargetOptions & { json?: boolean }) => runStatus(o));
  redisOption(queue.command('retry-failed').description('move every failed job back to the queue with fresh attempts (fix its input first)')).action(
    async (o: TargetOptions) => {
      const { retryFailed } = await import('../../queue/status.js');
      const n = await retryFailed(o);
      process.stdout.write(`moved ${n} failed job(s) back to queue '${o.queue}'\n`);
    },
  );
  redisOption(queue.command('drain').description('remove the jobs not yet started (running ones finish); --all deletes the whole queue'))
    .option('--all', 'also delete the done and failed history and the fused records, so the next add starts from nothing')
    .option('--force', 'with --all: even while workers run jobs')
    .action(async (o: TargetOptions & { all?: boolean; force?: boolean }) => {
      const { drainQueue } = await import('../../queue/status.js');
      const r = await drainQueue(o);
      process.stdout.write(`removed ${r.removed} waiting job(s)${r.all ? `; deleted queue '${o.queue}' and its records` : ''}\n`);
    });
}

import type { Command } from 'commander';
import { redactUrl } from '../../queue/defaults.js';
import type { WorkerEvent } from '../../queue/worker.js';
import { intOption, redisOption } from './queue.js';

/**
 * `tesg worker`: run jobs of the queue `tesg queue add` fills, until stopped. SIGTERM or Ctrl-C: finish
 * the running job(s), take no new one, exit 0; a second Ctrl-C exits at once (the job is then picked up
 * again elsewhere after the stalled interval). The work is in src/queue/worker.ts.
 */
interface WorkerCliOptions {
  redis: string;
  queue: string;
  concurrency: string;
  threads?: string;
  lockDuration: string;
  stalledInterval: string;
  untilEmpty?: boolean;
  name?: string;
}

function report(e: WorkerEvent, counts: { done: number; failed: number }): void {
  if (e.type === 'done') {
    counts.done++;
    const changed = e.inputsChanged ? ' (inputs changed since queue add; fused the current files)' : '';
    const what = e.joined ? 'fused and joined' : 'fused';
    process.stdout.write(`${what} ${e.stem} -> ${e.out} (${e.seconds.toFixed(2)} s)${changed}\n`);
  } else if (e.type === 'failed') {
    if (e.final) counts.failed++;
    const next = e.final ? 'in the failed set' : 'will retry';
    process.stderr.write(`tesg: failed ${e.stem} (attempt ${e.attempt} of ${e.attempts}, ${next}): ${e.message}\n`);
  } else if (e.type === 'stalled') {
    process.stderr.write(`tesg: job ${e.jobId} stalled (its worker stopped renewing the lock); back in the queue\n`);
  } else {
    process.stderr.write(`tesg: worker: ${e.message}\n`);
  }
}

export function register(program: Command): void {
  redisOption(
    program
      .command('worker')
      .description('fuse the pairs and video chunks of a `tesg queue add | add-video` queue; start one on each machine that sees the same folders')
      .option('--concurrency <n>', 'jobs at once in this process', '1')
      .option('--threads <n>', 'threads per job (onnxruntime and libvips; default: all cores)')
      .option('--lock-duration <ms>', 'a job whose worker stops renewing its lock this long counts as stalled', '30000')
      .option('--stalled-interval <ms>', 'how often to look for stalled jobs and put them back in the queue', '30000')
      .option('--until-empty', 'exit once nothing is waiting, retrying or running (batch jobs)')
      .option('--name <name>', 'worker name stored on the jobs it runs (default host:pid)'),
  ).action(async (o: WorkerCliOptions) => {
    const counts = { done: 0, failed: 0 };
    const { startWorker } = await import('../../queue/worker.js');
    const worker = await startWorker({
      redis: o.redis,
      queue: o.queue,
      concurrency: intOption('concurrency', o.concurrency, 1),
      threads: o.threads === undefined ? undefined : intOption('threads', o.threads, 1),
      lockDurationMs: intOption('lock-duration', o.lockDuration, 1),
      stalledIntervalMs: intOption('stalled-interval', o.stalledInterval, 1),
      untilEmpty: o.untilEmpty,
      name: o.name,
      onEvent: (e) => report(e, counts),
    });
    process.stderr.write(`tesg worker ${worker.name}: queue '${o.queue}' at ${redactUrl(o.redis)}, concurrency ${o.concurrency}; SIGTERM or Ctrl-C stops after the running job\n`);
    let signals = 0;
    const stop = (sig: string) => {
      if (++signals > 1) process.exit(130);
      process.stderr.write(`tesg worker: ${sig}: finishing the running job(s), taking no new one\n`);
      void worker.close();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    await worker.stopped;
    process.stderr.write(`tesg worker ${worker.name}: stopped; fused ${counts.done}, failed ${counts.failed}\n`);
  });
}

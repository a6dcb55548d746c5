/**
 * Score stems on a pool of worker threads (metrics are CPU-bound and single-threaded, so one worker
 * per core gives close to a linear speed-up on large sets), or inline on the main thread for
 * --workers 1 and one-image sets, where starting workers would cost more than it saves.
 *
 * The worker file is this folder's worker.js in dist and worker.ts under tsx (tests, dev): the
 * extension is taken from this module's own URL. A worker does not inherit the main thread's
 * `--import tsx` loader hooks for its entry file ("Unknown file extension .ts"), so under tsx the
 * worker starts from a two-line bootstrap that registers tsx's ESM hooks and then imports worker.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { scoreStem } from './score.js';
import type { StemOutcome, StemTask } from './types.js';
import type { WorkerReply } from './worker.js';

const OWN_EXT = path.extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./worker${OWN_EXT}`, import.meta.url);

function startWorker(): Worker {
  if (OWN_EXT !== '.ts') return new Worker(WORKER_URL);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.register())` +
    `.then(() => import(${JSON.stringify(WORKER_URL.href)}));`;
  return new Worker(bootstrap, { eval: true });
}

export interface PoolOptions {
  workers: number;
  /** Called once per finished stem, in completion order. */
  onOutcome?: (outcome: StemOutcome) => void;
  /** Return true to stop: no new stems are started, and the outcomes so far are returned. */
  stopOn?: (outcome: StemOutcome) => boolean;
}

/** Outcomes in completion order (the caller sorts). */
export async function scoreStems(tasks: StemTask[], opts: PoolOptions): Promise<StemOutcome[]> {
  const n = Math.min(Math.max(1, Math.floor(opts.workers)), tasks.length);
  return n <= 1 ? scoreInline(tasks, opts) : scoreOnWorkers(tasks, n, opts);
}

async function scoreInline(tasks: StemTask[], opts: PoolOptions): Promise<StemOutcome[]> {
  const out: StemOutcome[] = [];
  for (const task of tasks) {
    const outcome = await scoreStem(task);
    out.push(outcome);
    opts.onOutcome?.(outcome);
    if (opts.stopOn?.(outcome)) break;
  }
  return out;
}

function scoreOnWorkers(tasks: StemTask[], n: number, opts: PoolOptions): Promise<StemOutcome[]> {
  const out: StemOutcome[] = [];
  const workers: Worker[] = [];
  let next = 0;
  let stopped = false;
  let settled = false;
  return new Promise<StemOutcome[]>((resolve, reject) => {
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      // terminate() also ends idle workers, so the process can exit.
      void Promise.all(workers.map((w) => w.terminate())).then(() => (err ? reject(err) : resolve(out)));
    };
    const feed = (w: Worker) => {
      if (stopped) return finish(); // in-flight stems are dropped: the caller is about to fail
      if (next < tasks.length) {
        const id = next++;
        w.postMessage({ id, task: tasks[id] });
      } else if (out.length === tasks.length) {
        finish();
      }
    };
    for (let i = 0; i < n; i++) {
      const w = startWorker();
      workers.push(w);
      w.on('message', (reply: WorkerReply) => {
        if (reply.crash !== undefined || !reply.outcome) {
          finish(new Error(`eval worker failed on '${tasks[reply.id]?.stem}': ${reply.crash}`));
          return;
        }
        out.push(reply.outcome);
        opts.onOutcome?.(reply.outcome);
        if (opts.stopOn?.(reply.outcome)) stopped = true;
        feed(w);
      });
      w.on('error', (err) => finish(new Error(`eval worker could not run (${WORKER_URL.pathname}): ${err.message}`)));
      w.on('exit', (code) => {
        if (!settled && code !== 0) finish(new Error(`eval worker exited with code ${code}`));
      });
      feed(w);
    }
  });
}

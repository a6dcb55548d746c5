/**
 * `npm run bench -- queue [--pairs N]`: the job queue against plain `tesg fuse`, in one run, on the
 * MSRS test pairs (../shared/data/msrs/test, 50; --pairs N takes the first N) with a real redis-server
 * on a loopback port. Every figure is the real CLI in child processes, wall clock from spawn to exit
 * (process start and model load included, as a user sees it), so the rows compare directly:
 *
 *   tesg fuse --ir --vi --out               (default method: TeSG, all cores)
 *   queue add + 1 tesg worker               (all cores)
 *   queue add + 2 tesg workers --threads 1  (one core each)
 *
 * "steady" is the rate between the first and the last output written (start-up and model load
 * excluded), from the outputs' mtimes, the same measure for every row. The queue's own cost per job is
 * isolated with `--method average` (a fusion of a few ms): the worker's steady seconds per pair minus
 * those of `tesg fuse`.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MSRS_TEST, startWorkerProcess, tesg } from '../test/helpers/queue-cli.js';
import { redisMissing, startRedis } from '../test/helpers/redis-server.js';

interface Run {
  label: string;
  seconds: number;
  steadyPerSec: number;
}

function parsePairs(args: string[]): number {
  const i = args.indexOf('--pairs');
  if (i < 0) return 50;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 2) throw new Error(`--pairs must be an integer >= 2, got '${args[i + 1]}'`);
  return n;
}

/** Pairs per second between the first and the last output written (mtimes), start-up excluded. */
function steadyRate(out: string, n: number): number {
  const t = readdirSync(out).filter((f) => f.endsWith('.png')).map((f) => statSync(path.join(out, f)).mtimeMs).sort((a, b) => a - b);
  if (t.length !== n) throw new Error(`${out}: ${t.length} of ${n} outputs`);
  return (n - 1) / ((t[n - 1] - t[0]) / 1000);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

export async function run(args: string[]): Promise<void> {
  const missing = redisMissing();
  if (missing) throw new Error(missing);
  if (!existsSync(path.join(MSRS_TEST, 'ir'))) throw new Error(`no MSRS test pairs at ${MSRS_TEST}`);
  const n = parsePairs(args);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-bench-queue-'));
  const [ir, vi] = ['ir', 'vi'].map((m) => path.join(tmp, m));
  const stems = readdirSync(path.join(MSRS_TEST, 'ir')).filter((f) => f.endsWith('.png')).sort().slice(0, n).map((f) => f.slice(0, -4));
  for (const m of ['ir', 'vi']) {
    mkdirSync(path.join(tmp, m));
    for (const s of stems) copyFileSync(path.join(MSRS_TEST, m, `${s}.png`), path.join(tmp, m, `${s}.png`));
  }
  const redis = await startRedis();
  let plainNo = 0;
  let queueNo = 0;
  const check = (r: { code: number; stderr: string }, what: string) => {
    if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  };

  /** `tesg fuse` on the folder: wall seconds. */
  const plain = async (label: string, method: string[]): Promise<Run> => {
    const out = path.join(tmp, `out-fuse${plainNo++}`);
    let r = { code: 0, stderr: '' };
    const seconds = await timed(async () => (r = await tesg(['fuse', '--ir', ir, '--vi', vi, '--out', out, ...method])));
    check(r, label);
    return { label, seconds, steadyPerSec: steadyRate(out, n) };
  };

  /** queue add (not timed in the row), then `workers` workers until the queue is empty. */
  const queued = async (label: string, method: string[], workers: number, workerArgs: string[]): Promise<Run & { addSeconds: number }> => {
    const name = `bench${queueNo++}`;
    const out = path.join(tmp, `out-${name}`);
    const target = ['--redis', redis.url, '--queue', name];
    let added = { code: 0, stderr: '' };
    const addSeconds = await timed(async () => (added = await tesg(['queue', 'add', ...target, '--ir', ir, '--vi', vi, '--out', out, ...method])));
    check(added, `${label}: queue add`);
    const seconds = await timed(async () => {
      const ws = Array.from({ length: workers }, () => startWorkerProcess([...target, '--until-empty', ...workerArgs]));
      const codes = await Promise.all(ws.map((w) => w.exited));
      if (codes.some((c) => c !== 0)) throw new Error(`${label}: worker exit ${codes.join(', ')}: ${ws.map((w) => w.stderr).join('\n')}`);
    });
    return { label, seconds, steadyPerSec: steadyRate(out, n), addSeconds };
  };

  const line = (r: Run) =>
    `${r.label.padEnd(44)} ${(n / r.seconds).toFixed(3).padStart(7)} pairs/s  (${r.seconds.toFixed(1)} s)` +
    `   steady ${r.steadyPerSec.toFixed(3)} pairs/s`;
  try {
    console.log(`${n} MSRS test pairs (640x480), ${os.cpus().length} cores, Redis ${redis.url}; default method (TeSG) unless noted`);
    const fuse = await plain('tesg fuse --ir --vi --out', []);
    console.log(line(fuse));
    const w1 = await queued('queue + 1 worker', [], 1, []);
    console.log(line(w1) + `   [queue add ${w1.addSeconds.toFixed(1)} s]`);
    const w2 = await queued('queue + 2 workers x --threads 1', [], 2, ['--threads', '1']);
    console.log(line(w2));
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    console.log(
      `vs tesg fuse: 1 worker ${ratio(fuse.seconds, w1.seconds)} end to end, ${ratio(w1.steadyPerSec, fuse.steadyPerSec)} steady; ` +
        `2 workers x 1 thread ${ratio(fuse.seconds, w2.seconds)} end to end, ${ratio(w2.steadyPerSec, fuse.steadyPerSec)} steady`,
    );

    console.log('\nqueue overhead per job, with --method average:');
    const fa = await plain('tesg fuse --method average', ['--method', 'average']);
    console.log(line(fa));
    const wa = await queued('queue + 1 worker, --method average', ['--method', 'average'], 1, []);
    console.log(line(wa) + `   [queue add ${wa.addSeconds.toFixed(1)} s]`);
    const overheadMs = (1 / wa.steadyPerSec - 1 / fa.steadyPerSec) * 1000;
    console.log(`queue overhead per job: ${overheadMs.toFixed(1)} ms (steady s/pair of the worker minus tesg fuse's: hashing both inputs, Redis round trips, progress, the worker thread)`);

    const r2 = w2.steadyPerSec;
    const mb = stems.reduce((s, x) => s + statSync(path.join(ir, `${x}.png`)).size + statSync(path.join(vi, `${x}.png`)).size, 0) / n / 1e6;
    console.log(
      `\na cluster of N machines like this one, 2 workers x 1 thread each: about N x ${r2.toFixed(2)} pairs/s ` +
        `(N=10: the 361-pair MSRS test split in ${(361 / (10 * r2)).toFixed(0)} s), as long as the shared folder serves ` +
        `N x ${(r2 * mb).toFixed(2)} MB/s of inputs and Redis N x ${r2.toFixed(2)} jobs/s (a few commands each)`,
    );
  } finally {
    await redis.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The queue when things go wrong, with a real Debian redis-server on a free loopback port: a worker
 * SIGKILLed in the middle of a pair (its job is recovered by BullMQ's stalled-job check and fused once,
 * by another worker, with no partial file left), a corrupt input (three attempts, then the failed set
 * with a one-line error naming the file; retry-failed after the repair), an unreachable Redis, drain.
 *
 * The SIGKILL test fuses with the default method, the TeSG network with the shipped weights (the same
 * code path as `tesg fuse`, checked byte for byte; its seconds per pair also leave time to kill the
 * worker mid-pair). The others use `--method average` for speed: retries and the failed set do not
 * depend on the method. Lock duration and stalled interval are set to seconds (default 30 s each).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { fuseFiles } from '../src/fusion/index.js';
import { drainQueue, enqueueFolder, queueStatus } from '../src/queue/index.js';
import { FUSE_MANIFEST, type FuseManifest } from '../src/report/provenance.js';
import { makePairs, startWorkerProcess, tesg, waitFor, type WorkerProcess } from './helpers/queue-cli.js';
import { freePort, redisMissing, startRedis, type RedisServer } from './helpers/redis-server.js';

const skip = redisMissing();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-queue-recovery-'));
const STALL = ['--lock-duration', '3000', '--stalled-interval', '1000'];

describe('queue recovery', { skip }, () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
  const worker = (args: string[]) => {
    const w = startWorkerProcess(['--redis', redis.url, ...args]);
    workers.push(w);
    return w;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('SIGKILL mid-pair: another worker fuses that pair once after the stalled interval, no partial file left; SIGTERM mid-pair: the pair is finished, no new one taken', async () => {
    const dir = path.join(tmp, 'kill');
    const stems = await makePairs(dir, 2);
    const [ir, vi, out, ref] = ['ir', 'vi', 'out', 'ref'].map((d) => path.join(dir, d));
    const added = await tesg(['queue', 'add', '--redis', redis.url, '--queue', 'kill', '--ir', ir, '--vi', vi, '--out', out]);
    assert.match(added.stdout, /^added 2, already there 0, already fused 0 .*\(tesg\)$/m, added.stdout + added.stderr);
    const reference = tesg(['fuse', '--ir', ir, '--vi', vi, '--out', ref]);

    const queue = new Queue('kill', { connection: { url: redis.url } });
    /** The job a worker is inside of: it holds it and has read the inputs (progress 20), not written yet. */
    const midPair = (who: string, exclude?: string) =>
      waitFor(`worker ${who} to be inside a pair`, 60_000, async () => {
        const jobs = await queue.getJobs(['active']);
        return jobs.find((j) => j.id !== exclude && j.processedBy === who && typeof j.progress === 'number' && j.progress >= 20 && j.progress < 100);
      });
    try {
      const a = worker(['--queue', 'kill', '--name', 'A', ...STALL]);
      const killed = await midPair('A');
      a.child.kill('SIGKILL');
      assert.equal(await a.exited, 'SIGKILL');
      assert.deepEqual(a.fused(), []);
      const stem = (killed.data as { stem: string }).stem;
      assert.ok(!existsSync(path.join(out, `${stem}.png`)), 'A was killed before writing');
      // What a kill during the write itself leaves: writeFileAtomic's temp file, half written.
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, `.${stem}.png.424242.1700000000000.tmp`), readFileSync(path.join(ir, `${stem}.png`)).subarray(0, 1000));

      // B gets SIGTERM inside its first pair (A's recovered one or the other, whichever it took first):
      // it finishes that pair and stops without taking the next.
      const b = worker(['--queue', 'kill', '--name', 'B', ...STALL]);
      const inB = await midPair('B');
      b.child.kill('SIGTERM');
      assert.equal(await b.exited, 0, b.stderr);
      assert.deepEqual(b.fused(), [(inB.data as { stem: string }).stem], b.stderr);
      assert.match(b.stderr, /SIGTERM: finishing the running job\(s\), taking no new one/);

      // C fuses the remaining pair; A's pair was fused exactly once, by B or C, after its lock expired.
      const c = worker(['--queue', 'kill', '--name', 'C', '--until-empty', ...STALL]);
      assert.equal(await c.exited, 0, c.stderr);
      assert.deepEqual([...b.fused(), ...c.fused()].sort(), stems, b.stderr + c.stderr);
      assert.equal([...b.fused(), ...c.fused()].filter((x) => x === stem).length, 1);
      assert.ok(['B', 'C'].includes((await queue.getJob(killed.id!))!.processedBy!));
      assert.ok(new RegExp(`job ${killed.id!.replace(/\./g, '\\.')} stalled`).test(b.stderr + c.stderr), 'B or C put the stalled job back');

      assert.deepEqual(readdirSync(out).sort(), [...stems.map((s) => `${s}.png`), FUSE_MANIFEST].sort(), 'no temp file left in the output folder');
      const r = await reference;
      assert.equal(r.code, 0, r.stderr);
      for (const s of stems) assert.ok(readFileSync(path.join(out, `${s}.png`)).equals(readFileSync(path.join(ref, `${s}.png`))), `${s}: same bytes as tesg fuse (TeSG)`);
      // The record says what tesg fuse's says (method, weights file, SHA-256 and backend, SIG); the killed
      // attempt wrote nothing, so it counts 2 images.
      const record = (d: string) => (JSON.parse(readFileSync(path.join(d, FUSE_MANIFEST), 'utf8')) as FuseManifest).runs;
      const [queued] = record(out);
      const [fused] = record(ref);
      assert.equal(record(out).length, 1);
      assert.deepEqual([queued.method, queued.weights, queued.sig, queued.fused, queued.queue?.name], [fused.method, fused.weights, fused.sig, 2, 'kill']);
      assert.equal(queued.method, 'tesg');
      assert.match(queued.weights?.sha256 ?? '', /^[0-9a-f]{16}$/);
      const st = await queueStatus({ redis: redis.url, queue: 'kill' });
      assert.deepEqual([st.done, st.failed, st.active, st.waiting], [2, 0, 0, 0]);
    } finally {
      await queue.close();
    }
  });

  test('a corrupt input: 3 attempts, then the failed set with a one-line error naming the file; the others fused; retry after repair', async () => {
    const dir = path.join(tmp, 'corrupt');
    const stems = await makePairs(dir, 3);
    const [ir, vi, out] = ['ir', 'vi', 'out'].map((d) => path.join(dir, d));
    const bad = path.join(ir, `${stems[1]}.png`);
    const good = readFileSync(bad);
    writeFileSync(bad, good.subarray(0, good.length >> 1));
    const target = ['--redis', redis.url, '--queue', 'corrupt'];
    const added = await tesg(['queue', 'add', ...target, '--ir', ir, '--vi', vi, '--out', out, '--method', 'average', '--backoff', '100']);
    assert.match(added.stdout, /^added 3, already there 0, already fused 0 /m);

    const w = worker(['--queue', 'corrupt', '--until-empty']);
    assert.equal(await w.exited, 0, w.stderr);
    assert.deepEqual(w.fused(), [stems[0], stems[2]]);
    const failures = w.stderr.split('\n').filter((l) => l.startsWith(`tesg: failed ${stems[1]} `));
    assert.equal(failures.length, 3, w.stderr);
    assert.match(failures[0], /\(attempt 1 of 3, will retry\)/);
    assert.match(failures[2], /\(attempt 3 of 3, in the failed set\)/);

    const s = await queueStatus({ redis: redis.url, queue: 'corrupt' });
    assert.deepEqual([s.done, s.failed, s.waiting, s.delayed], [2, 1, 0, 0]);
    assert.equal(s.failedJobs.length, 1);
    assert.equal(s.failedJobs[0].stem, stems[1]);
    assert.equal(s.failedJobs[0].attempts, 3);
    assert.ok(s.failedJobs[0].error.startsWith(`${bad}: corrupt or truncated PNG`), s.failedJobs[0].error);
    assert.ok(!s.failedJobs[0].error.includes('\n'), 'one line');
    const shown = await tesg(['queue', 'status', ...target]);
    assert.match(shown.stdout, /done 2, failed 1\n/);
    assert.ok(shown.stdout.includes(`failed jobs:\n  ${stems[1]} after 3 attempt(s): ${bad}: corrupt or truncated PNG`), shown.stdout);
    assert.deepEqual(readdirSync(out).sort(), [`${stems[0]}.png`, `${stems[2]}.png`, FUSE_MANIFEST]);
    const counted = () => (JSON.parse(readFileSync(path.join(out, FUSE_MANIFEST), 'utf8')) as FuseManifest).runs.map((r) => r.fused);
    assert.deepEqual(counted(), [2], 'the failed job is not counted');

    writeFileSync(bad, good);
    const retried = await tesg(['queue', 'retry-failed', ...target]);
    assert.match(retried.stdout, /^moved 1 failed job\(s\) back to queue 'corrupt'$/m);
    const again = worker(['--queue', 'corrupt', '--until-empty']);
    assert.equal(await again.exited, 0, again.stderr);
    assert.deepEqual(again.fused(), [stems[1]]);
    assert.deepEqual(counted(), [3], 'the retried job counts in the same queue add');
    assert.match(again.stdout, /inputs changed since queue add; fused the current files/);
    const expected = path.join(dir, 'expected.png');
    await fuseFiles(bad, path.join(vi, `${stems[1]}.png`), expected, { method: 'average' });
    assert.ok(readFileSync(path.join(out, `${stems[1]}.png`)).equals(readFileSync(expected)));
    const end = await queueStatus({ redis: redis.url, queue: 'corrupt' });
    assert.deepEqual([end.done, end.failed], [3, 0]);
    const add = await enqueueFolder({ redis: redis.url, queue: 'corrupt', ir, vi, out, method: 'average' });
    assert.deepEqual([add.added.length, add.fused.length], [0, 3], 'the repaired pair is recorded as fused from its current bytes');
  });

  test('drain removes the waiting jobs; drain --all forgets the queue; an unreachable Redis is one line', async () => {
    const dir = path.join(tmp, 'drain');
    await makePairs(dir, 2);
    const opts = { redis: redis.url, queue: 'drain', ir: path.join(dir, 'ir'), vi: path.join(dir, 'vi'), out: path.join(dir, 'out'), method: 'max' };
    assert.equal((await enqueueFolder(opts)).added.length, 2);
    assert.deepEqual(await drainQueue({ redis: redis.url, queue: 'drain' }), { removed: 2, all: false });
    assert.equal((await queueStatus({ redis: redis.url, queue: 'drain' })).waiting, 0);
    assert.equal((await enqueueFolder(opts)).added.length, 2, 'drained jobs can be added again');
    const all = await tesg(['queue', 'drain', '--all', '--redis', redis.url, '--queue', 'drain']);
    assert.match(all.stdout, /^removed 2 waiting job\(s\); deleted queue 'drain' and its records$/m);
    const s = await queueStatus({ redis: redis.url, queue: 'drain' });
    assert.deepEqual([s.waiting, s.done, s.failed], [0, 0, 0]);

    const port = await freePort();
    const down = await tesg(['queue', 'status', '--redis', `redis://127.0.0.1:${port}`]);
    assert.equal(down.code, 2);
    assert.equal(down.stderr.trim(), `tesg: error: cannot reach Redis at redis://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}); start redis-server there or pass --redis URL`);
  });
});

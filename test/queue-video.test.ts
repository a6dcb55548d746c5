/**
 * One video fused by the job queue: `tesg queue add-video` plans a 24-frame clip pair (real TNO frames,
 * real ffmpeg) in chunks of 8 and adds one 'video-chunk' job per chunk; two `tesg worker` processes
 * (real redis-server, no mock) fuse the chunks and the one that completes the last joins the output.
 * Both a lossless frames folder and an H.264 .mp4 equal `tesg fuse-video` of the same inputs byte for
 * byte; adding again enqueues nothing, before the workers run and after the video is joined.
 *
 * The join lock, in-process against the same real Redis and ffmpeg: a join lock held by another
 * worker past the wait fails the job with one line naming the video, and its retry joins; a joiner
 * that loses the lock between building the joined output and renaming it into place (finishVideo's
 * beforeCommit hook, where the test hands the lock to another worker) writes nothing; a joiner that
 * finds the output already complete (its joiner died before removing the work dir) does not write it again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { QueueError } from '../src/errors.js';
import { queueStatus } from '../src/queue/index.js';
import { JOB_FORMAT, type VideoChunkQueueJob } from '../src/queue/job.js';
import { fusedKey, openRedis } from '../src/queue/redis.js';
import { finishLockKey, planHash, runVideoChunkQueueJob } from '../src/queue/video.js';
import { countFrames } from '../src/video/finish.js';
import { planVideo } from '../src/video/fuse-video.js';
import { chunkCount, planFile, segmentPath, type VideoPlan } from '../src/video/plan.js';
import { startWorkerProcess, tesg, waitFor, type WorkerProcess } from './helpers/queue-cli.js';
import { redisMissing, startRedis, type RedisServer } from './helpers/redis-server.js';
import { encodeClip, pngs, sequenceFolder, videoSkip } from './helpers/video-clips.js';

const skip = redisMissing() || videoSkip();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-queue-video-'));
const p = (...parts: string[]) => path.join(tmp, ...parts);
const FUSE = ['--method', 'average', '--chunk', '8', '--preset', 'veryfast'];

describe('queue: one 24-frame video in 3 chunks, 2 workers', { skip }, () => {
  let redis: RedisServer;
  let ir = '', vi = '';
  const workers: WorkerProcess[] = [];
  before(async () => {
    redis = await startRedis();
    const frames = Array.from({ length: 24 }, (_, i) => i);
    ir = encodeClip(sequenceFolder(p('seq', 'ir'), 'ir', frames), p('ir.mkv'));
    vi = encodeClip(sequenceFolder(p('seq', 'vi'), 'vi', frames), p('vi.mkv'));
  });
  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  const addVideo = (out: string) => tesg(['queue', 'add-video', ir, vi, '-o', out, '--redis', redis.url, ...FUSE], { nice: true });

  test('frames folder and mp4 equal tesg fuse-video byte for byte; re-adding adds nothing', async () => {
    const [refDir, refMp4] = [p('ref') + '/', p('ref.mp4')];
    const [outDir, outMp4] = [p('out') + '/', p('out.mp4')];
    const refs = Promise.all([refDir, refMp4].map((o) => tesg(['fuse-video', ir, vi, '-o', o, ...FUSE], { nice: true })));

    for (const out of [outDir, outMp4]) {
      const added = await addVideo(out);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^added 3 of 3 chunk\(s\) \(24 frames\), already there 0 -> queue 'tesg' at redis:\/\/127\.0\.0\.1:\d+ \(average\)/m);
    }
    const again = await addVideo(outMp4);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^added 0 of 3 chunk\(s\) \(24 frames\), already there 3 /m);
    const waiting = await queueStatus({ redis: redis.url });
    assert.equal(waiting.waiting, 6, 'two videos x 3 chunks, nothing twice');

    workers.push(...[1, 2].map((i) => startWorkerProcess(['--redis', redis.url, '--name', `w${i}`, '--threads', '1', '--until-empty'], { nice: true })));
    const status = await waitFor('6 chunks done and both videos joined', 50_000, async () => {
      const s = await queueStatus({ redis: redis.url });
      return s.done + s.failed === 6 && existsSync(outMp4) && existsSync(outDir) ? s : undefined;
    });
    assert.deepEqual([status.done, status.failed], [6, 0], JSON.stringify(status.failedJobs));
    const exits = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(exits, [0, 0], workers.map((w) => w.stderr).join('\n'));
    const log = workers.map((w) => w.stdout).join('');
    assert.equal([...log.matchAll(/^fused (and joined )?\S+:\d\/3 -> /gm)].length, 6, log);
    assert.equal([...log.matchAll(/^fused and joined /gm)].length, 2, `each video joined exactly once:\n${log}`);

    for (const r of await refs) assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(`${p('out')}.tesg-work`) && !existsSync(`${outMp4}.tesg-work`), 'work dirs removed');
    const frames = pngs(outDir);
    assert.equal(frames.length, 24);
    assert.deepEqual(frames, pngs(refDir));
    for (const f of frames) assert.ok(readFileSync(path.join(outDir, f)).equals(readFileSync(path.join(refDir, f))), `frame ${f} differs`);
    assert.ok(readFileSync(outMp4).equals(readFileSync(refMp4)), 'the joined mp4 equals tesg fuse-video\'s byte for byte');

    const done = await addVideo(outMp4);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^added 0: .*out\.mp4 was already joined by queue 'tesg'/m);
    const shown = await tesg(['queue', 'status', '--redis', redis.url], { nice: true });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^waiting 0, active 0, delayed 0 \(retrying\), done 6, failed 0$/m);
  });
});

describe('queue: the join lock of a video (real Redis, in-process jobs)', { skip }, () => {
  const QUEUE = 'locks';
  let server: RedisServer;
  let redis: Redis, other: Redis;
  let ir = '', vi = '';
  const sink = { updateProgress: async () => {} };
  before(async () => {
    server = await startRedis();
    [redis, other] = await Promise.all([openRedis(server.url), openRedis(server.url)]);
    const frames = Array.from({ length: 16 }, (_, i) => i);
    ir = encodeClip(sequenceFolder(p('lock-seq', 'ir'), 'ir', frames), p('lock-ir.mkv'));
    vi = encodeClip(sequenceFolder(p('lock-seq', 'vi'), 'vi', frames), p('lock-vi.mkv'));
  });
  after(async () => {
    redis?.disconnect();
    other?.disconnect();
    await server?.stop();
  });

  /** Plan `out` in 2 chunks of 8 and the jobs `queue add-video` would add for it. */
  async function planned(out: string): Promise<{ plan: VideoPlan; jobs: VideoChunkQueueJob[]; key: string }> {
    const plan = await planVideo(ir, vi, out, { method: 'average', chunkFrames: 8, encode: { preset: 'veryfast' } });
    const hash = planHash(plan);
    const n = chunkCount(plan);
    assert.equal(n, 2);
    const jobs = [...Array(n).keys()].map((index): VideoChunkQueueJob => ({
      kind: 'video-chunk', format: JOB_FORMAT, workDir: plan.workDir, index, stem: `${path.basename(plan.output)}:${index + 1}/${n}`, output: plan.output, chunks: n, hash,
    }));
    return { plan, jobs, key: finishLockKey(QUEUE, hash) };
  }
  const run = (d: VideoChunkQueueJob, lockOptions = {}) => runVideoChunkQueueJob(sink, d, { redis, queue: QUEUE }, lockOptions);
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const leftovers = (output: string) => readdirSync(path.dirname(output)).filter((n) => n.startsWith(`.${path.basename(output)}.join-`));
  /** The work dir as a joiner that died between the rename and its removal left it (segment times kept). */
  const backup = (plan: VideoPlan) => fs.cp(plan.workDir, `${plan.workDir}.bak`, { recursive: true, preserveTimestamps: true });
  const restore = (plan: VideoPlan) => fs.rename(`${plan.workDir}.bak`, plan.workDir);

  test('the lock held by another worker past the wait: one line naming the video, nothing written; the retry joins; a complete output is not written again', async () => {
    const { plan, jobs, key } = await planned(p('held') + '/');
    assert.equal((await run(jobs[0])).joined, false, 'one segment of two: nothing to join yet');
    await other.set(key, 'another-worker', 'PX', 60_000);
    const t0 = Date.now();
    await assert.rejects(run(jobs[1], { waitMs: 1500, pollMs: 50 }), (err: Error) => {
      assert.ok(err instanceof QueueError, String(err));
      assert.ok(!err.message.includes('\n'), err.message);
      assert.match(err.message, /^gave up after 1\.5 s waiting for the lock on video \S*held \(Redis key tesg:locks:video-finish:[0-9a-f]{24}\): other workers held it all that time; retry later$/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 1500);
    assert.ok(!existsSync(plan.output), 'nothing joined while the lock was held');
    assert.ok(existsSync(segmentPath(plan, 1)), 'the failed job kept its segment');
    assert.equal(await other.get(key), 'another-worker', 'the holder keeps its lock');

    await other.del(key); // the other worker is gone: BullMQ's retry of the job joins
    await backup(plan);
    const retried = await run(jobs[1]);
    assert.deepEqual([retried.joined, retried.skipped, retried.out], [true, true, plan.output]);
    assert.equal(pngs(plan.output).length, 16);
    assert.ok(!existsSync(plan.workDir), 'work dir removed');
    assert.deepEqual(leftovers(plan.output), []);
    assert.equal(await redis.hget(fusedKey(QUEUE), plan.output), jobs[1].hash);
    assert.equal(await redis.exists(key), 0, 'lock released');
    const again = await run(jobs[1]);
    assert.deepEqual([again.joined, again.skipped], [false, true], 'a repeated job does nothing');

    // The joiner died after renaming the folder into place: the next job neither joins again nor fails
    // on the full folder; it removes the work dir.
    await restore(plan);
    const first = path.join(plan.output, pngs(plan.output)[0]);
    const was = statSync(first);
    const late = await run(jobs[0]);
    assert.equal(late.joined, false);
    assert.equal(statSync(first).ino, was.ino, 'the frames were not written again');
    assert.equal(pngs(plan.output).length, 16);
    assert.ok(!existsSync(plan.workDir), 'work dir removed');
  });

  // The lock is lost at exactly the point between the join's build and its rename (a stall past the
  // lock's ttl, or a Redis failover, then another worker's takeover): the test-only hook, called once
  // the output is complete under its temp name, hands the lock to another worker there.
  for (const name of ['lost.mp4', 'lost-frames/']) {
    test(`a joiner that loses the lock between building ${name} and renaming it writes nothing and leaves the join to the new holder`, async () => {
      const { plan, jobs, key } = await planned(p(name));
      const video = plan.kind !== 'dir';
      await run(jobs[0]);
      const seen: { holder: string | null; temps: string[]; built: number; output: boolean }[] = [];
      const lost = await run(jobs[1], {
        beforeCommit: async () => {
          const temps = leftovers(plan.output);
          const temp = path.join(path.dirname(plan.output), temps[0] ?? 'none');
          const built = video ? await countFrames(temp) : readdirSync(temp).length;
          const output = video ? existsSync(plan.output) : entries(plan.output).length > 0;
          seen.push({ holder: await other.get(key), temps, built, output });
          await other.set(key, 'new-holder', 'PX', 60_000);
        },
      }).then(
        () => assert.fail('the job joined without its lock'),
        (err: Error) => err,
      );
      assert.equal(seen.length, 1, 'the hook ran once');
      assert.match(String(seen[0].holder), /^\d+\.[0-9a-f]{16}$/, 'the joiner held the lock up to the hook');
      assert.equal(seen[0].temps.length, 1, String(seen[0].temps));
      assert.match(seen[0].temps[0], /^\.lost(\.mp4|-frames)\.join-[0-9a-f]{16}\.tmp$/);
      assert.equal(seen[0].built, 16, 'the join was complete under its temp name');
      assert.equal(seen[0].output, false, 'and not yet in place');

      assert.ok(lost instanceof QueueError, String(lost));
      assert.match(lost.message, /^lost the lock on video \S*lost(\.mp4|-frames) \(Redis key tesg:locks:video-finish:[0-9a-f]{24}\) .*nothing was written/);
      assert.ok(!lost.message.includes('\n'), lost.message);
      if (video) assert.ok(!existsSync(plan.output), 'the loser wrote no output');
      else assert.deepEqual(entries(plan.output), [], 'the loser wrote no frames');
      assert.deepEqual(leftovers(plan.output), [], 'nor left a temp output');
      assert.deepEqual(readdirSync(plan.workDir).filter((n) => n.startsWith('concat')), [], 'nor a concat list');
      assert.ok(existsSync(planFile(plan.workDir)) && existsSync(segmentPath(plan, 0)) && existsSync(segmentPath(plan, 1)), 'the work dir is left to the new holder');
      assert.equal(await redis.hget(fusedKey(QUEUE), plan.output), null);
      assert.equal(await other.get(key), 'new-holder', 'the loser did not release the new holder\'s lock');

      // The new holder's join (here: the loser's retry once it is gone).
      await other.del(key);
      await backup(plan);
      const retried = await run(jobs[1]);
      assert.deepEqual([retried.joined, retried.out], [true, plan.output]);
      if (video) assert.equal(await countFrames(plan.output), 16);
      else assert.equal(pngs(plan.output).length, 16);
      assert.ok(!existsSync(plan.workDir));
      assert.deepEqual(leftovers(plan.output), []);
      assert.equal(await redis.hget(fusedKey(QUEUE), plan.output), jobs[1].hash);
      assert.equal(await redis.exists(key), 0, 'lock released');
      // Found complete by a later joiner (the work dir left by a joiner that died): not written again.
      await restore(plan);
      const probe = video ? plan.output : path.join(plan.output, pngs(plan.output)[0]);
      const was = statSync(probe);
      assert.equal((await run(jobs[1])).joined, false);
      const now = statSync(probe);
      assert.deepEqual([now.ino, now.mtimeMs], [was.ino, was.mtimeMs], 'the output was not written again');
      assert.ok(!existsSync(plan.workDir));
    });
  }
});

/**
 * One video fused by the job queue: `tesg queue add-video` plans a 24-frame clip pair (real TNO frames,
 * real ffmpeg) in chunks of 8 and adds one 'video-chunk' job per chunk; two `tesg worker` processes
 * (real redis-server, no mock) fuse the chunks and the one that completes the last joins the output.
 * Both a lossless frames folder and an H.264 .mp4 equal `tesg fuse-video` of the same inputs byte for
 * byte; adding again enqueues nothing, before the workers run and after the video is joined.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { queueStatus } from '../src/queue/index.js';
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

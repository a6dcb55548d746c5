/**
 * The job queue end to end with a real Debian redis-server on a free loopback port (no mock): 12 pairs
 * fused by 3 `tesg worker` processes, byte-identical to `tesg fuse --ir --vi --out` and with the same
 * tesg-fuse.json record; then adding the folder again enqueues nothing, and a changed input (or a
 * deleted output) re-enqueues that pair only; concurrent record updates under the lock lose no count.
 *
 * These tests fuse with `--method average`: the queue's behaviour does not depend on the method (the
 * worker calls the same fuseFiles as `tesg fuse`), and the classic method keeps the file fast; the
 * default TeSG method goes through the queue in queue-recovery.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fuseFiles } from '../src/fusion/index.js';
import { enqueueFolder, queueStatus, type PairJob } from '../src/queue/index.js';
import { recordPairOutput } from '../src/queue/manifest.js';
import { openRedis } from '../src/queue/redis.js';
import { FUSE_MANIFEST, mergeFuseManifest, type FuseManifest } from '../src/report/provenance.js';
import { makePairs, startWorkerProcess, tesg, waitFor, type WorkerProcess } from './helpers/queue-cli.js';
import { redisMissing, startRedis, type RedisServer } from './helpers/redis-server.js';

const skip = redisMissing();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-queue-cluster-'));
const [IR, VI, OUT, REF] = ['ir', 'vi', 'out', 'ref'].map((d) => path.join(tmp, d));

/** The output folder's files, without the manifest that `tesg fuse` and `tesg worker` add. */
const images = (dir: string) => readdirSync(dir).filter((f) => f !== FUSE_MANIFEST).sort();
const manifest = (dir: string) => JSON.parse(readFileSync(path.join(dir, FUSE_MANIFEST), 'utf8')) as FuseManifest;

describe('queue: 12 pairs, 3 workers, then idempotent re-adding', { skip }, () => {
  let redis: RedisServer;
  let stems: string[];
  const workers: WorkerProcess[] = [];
  before(async () => {
    [redis, stems] = await Promise.all([startRedis(), makePairs(tmp, 12)]);
  });
  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  const add = () => tesg(['queue', 'add', '--redis', redis.url, '--ir', IR, '--vi', VI, '--out', OUT, '--method', 'average']);

  test('every output written once, byte-identical to tesg fuse; 12 done, 0 failed; SIGTERM stops the workers cleanly', async () => {
    workers.push(...[1, 2, 3].map((i) => startWorkerProcess(['--redis', redis.url, '--name', `w${i}`])));
    const [reference] = await Promise.all([
      tesg(['fuse', '--ir', IR, '--vi', VI, '--out', REF, '--method', 'average']),
      ...workers.map((w) => w.ready),
    ]);
    assert.equal(reference.code, 0, reference.stderr);
    const added = await add();
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^added 12, already there 0, already fused 0 -> queue 'tesg' at redis:\/\/127\.0\.0\.1:\d+ \(average\)$/m);

    const status = await waitFor('12 done', 60_000, async () => {
      const s = await queueStatus({ redis: redis.url });
      return s.done + s.failed === 12 ? s : undefined;
    });
    assert.deepEqual([status.done, status.failed, status.waiting, status.active, status.delayed], [12, 0, 0, 0, 0]);
    assert.equal(status.workers, 3);
    assert.ok(status.perSecond > 0, `rate ${status.perSecond}`);

    for (const w of workers) w.child.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0, 0], workers.map((w) => w.stderr).join('\n'));
    for (const w of workers) assert.match(w.stderr, /SIGTERM: finishing the running job\(s\), taking no new one/);

    // Each pair fused by exactly one worker, once.
    const fusedBy = workers.flatMap((w) => w.fused());
    assert.deepEqual([...fusedBy].sort(), stems);
    process.stderr.write(`# pairs per worker: ${workers.map((w) => w.fused().length).join(', ')}\n`);
    // The same files, the same bytes, no temp file left.
    assert.deepEqual(readdirSync(OUT).sort(), [...stems.map((s) => `${s}.png`), FUSE_MANIFEST].sort());
    assert.deepEqual(images(REF), stems.map((s) => `${s}.png`));
    // The record tesg fuse leaves, with the same fields; one entry for the `queue add`, counting all 12 jobs.
    const [ref] = manifest(REF).runs;
    const { runs } = manifest(OUT);
    assert.equal(runs.length, 1);
    const { queue, ...run } = runs[0];
    assert.deepEqual(Object.keys(run).sort(), Object.keys(ref).sort());
    assert.deepEqual([run.method, run.weights, run.sig, run.tesgVersion, run.fused, run.skipped], [ref.method, ref.weights, ref.sig, ref.tesgVersion, 12, 0]);
    assert.deepEqual([run.method, run.weights, run.sig], ['average', null, null]);
    assert.match(run.command, /^tesg queue add --redis redis:\/\/127\.0\.0\.1:\d+ --ir \S+ --vi \S+ --out \S+ --method average$/);
    assert.equal(queue?.name, 'tesg');
    assert.ok(Date.parse(queue!.added!) <= Date.parse(run.date), `added ${queue!.added}, last job ${run.date}`);
    for (const f of images(REF)) assert.ok(readFileSync(path.join(OUT, f)).equals(readFileSync(path.join(REF, f))), `${f} differs from tesg fuse`);

    const shown = await tesg(['queue', 'status', '--redis', redis.url]);
    assert.match(shown.stdout, /waiting 0, active 0, delayed 0 \(retrying\), done 12, failed 0/);
    assert.doesNotMatch(shown.stdout, /failed jobs/);
  });

  test('adding again adds nothing; a changed input and a deleted output re-enqueue those two pairs only', async () => {
    const again = await add();
    assert.match(again.stdout, /^added 0, already there 0, already fused 12 /m);

    // 1st pair: its IR replaced by another (same-size) infrared image; 2nd pair: its output deleted.
    const [changed, deleted] = [stems[0], stems[1]];
    copyFileSync(path.join(IR, `${stems[5]}.png`), path.join(IR, `${changed}.png`));
    rmSync(path.join(OUT, `${deleted}.png`));
    // The library call behind `tesg queue add` (the CLI's printing is checked above).
    const third = await enqueueFolder({ redis: redis.url, ir: IR, vi: VI, out: OUT, method: 'average', command: 'enqueueFolder (third)' });
    assert.deepEqual([third.added.sort(), third.queued, third.failed, third.fused.length], [[changed, deleted].sort(), [], [], 10]);
    const fourth = await enqueueFolder({ redis: redis.url, ir: IR, vi: VI, out: OUT, method: 'average' });
    assert.deepEqual([fourth.added, fourth.queued.sort(), fourth.fused.length], [[], [changed, deleted].sort(), 10], 'waiting jobs are not added twice');

    const w = startWorkerProcess(['--redis', redis.url, '--until-empty']);
    workers.push(w);
    assert.equal(await w.exited, 0, w.stderr);
    assert.deepEqual(w.fused().sort(), [changed, deleted].sort());

    // The changed pair now holds the fusion of the new inputs; the deleted one is back as before.
    const expected = path.join(tmp, 'expected.png');
    await fuseFiles(path.join(IR, `${changed}.png`), path.join(VI, `${changed}.png`), expected, { method: 'average' });
    assert.ok(readFileSync(path.join(OUT, `${changed}.png`)).equals(readFileSync(expected)));
    assert.ok(!readFileSync(path.join(OUT, `${changed}.png`)).equals(readFileSync(path.join(REF, `${changed}.png`))));
    assert.ok(readFileSync(path.join(OUT, `${deleted}.png`)).equals(readFileSync(path.join(REF, `${deleted}.png`))));

    // The second `queue add` that added jobs is a second entry, counting its 2 jobs, now last.
    assert.deepEqual(manifest(OUT).runs.map((r) => [r.command.split(' ')[0], r.fused]), [['tesg', 12], ['enqueueFolder', 2]]);

    const last = await enqueueFolder({ redis: redis.url, ir: IR, vi: VI, out: OUT, method: 'average' });
    assert.deepEqual([last.added.length, last.queued.length, last.fused.length], [0, 0, 12]);
    // 12 + the changed pair's new job; the deleted output's job was re-run under its own id.
    const s = await queueStatus({ redis: redis.url });
    assert.deepEqual([s.done, s.failed], [13, 0]);
  });

  test('tesg-fuse.json under concurrent jobs: 4 clients x 10 records into one folder count 40 (the same 40 without the lock lose counts)', async () => {
    const dir = path.join(tmp, 'concurrent');
    mkdirSync(dir);
    const job = (i: number): PairJob => ({
      kind: 'pair', format: 1, stem: `p${i}`, ir: '/in/ir.png', vi: '/in/vi.png', out: path.join(dir, `p${i}.png`), hash: 'h',
      fuse: { method: 'max', stretch: 'minmax', gray: false, quality: 95, params: {} },
      run: { command: 'tesg queue add (test)', added: '2026-01-01T00:00:00.000Z' },
    });
    const clients = await Promise.all([0, 1, 2, 3].map(() => openRedis(redis.url)));
    try {
      await Promise.all(clients.map((c, k) => Promise.all(Array.from({ length: 10 }, (_, i) => recordPairOutput(c, 'tesg', job(10 * k + i))))));
    } finally {
      for (const c of clients) c.disconnect();
    }
    const { runs } = manifest(dir);
    assert.deepEqual(runs.map((r) => [r.method, r.fused, r.command, r.queue]), [['max', 40, 'tesg queue add (test)', { name: 'tesg', added: '2026-01-01T00:00:00.000Z' }]]);
    assert.deepEqual(readdirSync(dir), [FUSE_MANIFEST], 'no temp file left');
    // Control: the same read-modify-write without the lock, 40 at once, loses updates (or fails outright).
    const bare = path.join(tmp, 'unlocked');
    const run = { ...runs[0], fused: 1 };
    await Promise.allSettled(Array.from({ length: 40 }, () => mergeFuseManifest(bare, run, (r) => r.command === run.command)));
    assert.ok(manifest(bare).runs[0].fused < 40, `unlocked: ${manifest(bare).runs[0].fused}`);
  });
});

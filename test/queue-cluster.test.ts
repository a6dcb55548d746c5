/**
 * The job queue end to end with a real Debian redis-server on a free loopback port (no mock): 12 pairs
 * fused by 3 `tesg worker` processes, byte-identical to `tesg fuse --ir --vi --out` and with the same
 * tesg-fuse.json record; then adding the folder again enqueues nothing, and a changed input (or a
 * deleted output) re-enqueues that pair only; concurrent record updates under the lock lose no count,
 * also from two queues into one folder; a lock wait gives up, a lost lock writes nothing, and a failed
 * record does not fail the job. Also the manifest's own rules: a damaged one is an error, never replaced.
 *
 * These tests fuse with `--method average`: the queue's behaviour does not depend on the method (the
 * worker calls the same fuseFiles as `tesg fuse`), and the classic method keeps the file fast; the
 * default TeSG method goes through the queue in queue-recovery.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fuseFiles } from '../src/fusion/index.js';
import { InputError, QueueError } from '../src/errors.js';
import { enqueueFolder, queueStatus, type PairJob } from '../src/queue/index.js';
import { JOB_FORMAT, pairHash } from '../src/queue/job.js';
import { manifestLockKey, recordPairOutput } from '../src/queue/manifest.js';
import { runPairJob } from '../src/queue/pair.js';
import { fusedKey, openRedis, withRedisLock } from '../src/queue/redis.js';
import { appendFuseManifest, FUSE_MANIFEST, mergeFuseManifest, readFuseManifest, type FuseManifest, type FuseRunRecord } from '../src/report/provenance.js';
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
    // the same fields, but for those of a folder run's progress (started before its first pair, then finished)
    const { started, overwrite, finished, ...refRun } = ref;
    assert.deepEqual([typeof started, overwrite, finished], ['string', false, true]);
    assert.deepEqual(Object.keys(run).sort(), Object.keys(refRun).sort());
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

    // --skip-existing counts existing outputs as fused without a look: only when the folder's record agrees
    await assert.rejects(enqueueFolder({ redis: redis.url, ir: IR, vi: VI, out: OUT, method: 'max', skipExisting: true }),
      /the latest run recorded in tesg-fuse\.json fused with --method average, not --method max, and 12 existing image\(s\) would be kept; drop --skip-existing to fuse them again/);
    const skipping = await enqueueFolder({ redis: redis.url, ir: IR, vi: VI, out: REF, method: 'average', skipExisting: true });
    assert.deepEqual([skipping.added.length, skipping.fused.length], [0, 12], 'tesg fuse made REF with average');
  });

  /** A pair job into `dir` (its image is never fused: recordPairOutput only counts it). */
  const job = (dir: string, i: number, run: { command: string; added: string } = { command: 'tesg queue add (test)', added: '2026-01-01T00:00:00.000Z' }): PairJob => ({
    kind: 'pair', format: JOB_FORMAT, stem: `p${i}`, ir: '/in/ir.png', vi: '/in/vi.png', out: path.join(dir, `p${i}.png`), hash: 'h',
    fuse: { method: 'max', stretch: 'minmax', gray: false, quality: 95, params: {} },
    run,
  });

  test('tesg-fuse.json under concurrent jobs: 4 clients x 10 records into one folder count 40; a retried job counts once (the same 40 merged without the Redis lock keep their counts too: the folder lock)', async () => {
    const dir = path.join(tmp, 'concurrent');
    mkdirSync(dir);
    const clients = await Promise.all([0, 1, 2, 3].map(() => openRedis(redis.url)));
    try {
      await Promise.all(clients.map((c, k) => Promise.all(Array.from({ length: 10 }, (_, i) => recordPairOutput(c, 'tesg', job(dir, 10 * k + i))))));
      // A job retried after a crash between its record and its completion: its output is counted once.
      await recordPairOutput(clients[0], 'tesg', job(dir, 7));
    } finally {
      for (const c of clients) c.disconnect();
    }
    const { runs } = manifest(dir);
    assert.deepEqual(runs.map((r) => [r.method, r.fused, r.command, r.queue]), [['max', 40, 'tesg queue add (test)', { name: 'tesg', added: '2026-01-01T00:00:00.000Z' }]]);
    assert.deepEqual(readdirSync(dir), [FUSE_MANIFEST], 'no temp file left');
    // Without the Redis lock, 40 additive merges at once still count 40: mergeFuseManifest holds the
    // folder's file lock (withManifestLock; before it, this control lost counts or damaged the file).
    const bare = path.join(tmp, 'unlocked');
    mkdirSync(bare);
    const run = { ...runs[0], fused: 1 };
    const settled = await Promise.allSettled(Array.from({ length: 40 }, () => mergeFuseManifest(bare, run, (r) => r.command === run.command)));
    assert.deepEqual(settled.filter((r) => r.status === 'rejected'), []);
    assert.equal(manifest(bare).runs[0].fused, 40);
    assert.deepEqual(readdirSync(bare), [FUSE_MANIFEST], 'no lock or temp file left');
  });

  test('two queues writing one folder share its lock: 2 x 15 concurrent records keep both entries and every count', async () => {
    const dir = path.join(tmp, 'two-queues');
    mkdirSync(dir);
    const clients = await Promise.all([0, 1].map(() => openRedis(redis.url)));
    try {
      const runs = [{ command: 'tesg queue add --queue a', added: '2026-01-01T00:00:00.000Z' }, { command: 'tesg queue add --queue b', added: '2026-01-02T00:00:00.000Z' }];
      await Promise.all(['a', 'b'].map((q, k) => Promise.all(Array.from({ length: 15 }, (_, i) => recordPairOutput(clients[k], q, job(dir, 100 * k + i, runs[k]))))));
    } finally {
      for (const c of clients) c.disconnect();
    }
    assert.deepEqual(manifest(dir).runs.map((r) => [r.queue?.name, r.fused]).sort(), [['a', 15], ['b', 15]]);
    assert.equal(manifestLockKey(dir), manifestLockKey(path.join(dir, '.', 'sub', '..')), 'keyed by the resolved folder');
  });

  test('lock: waiting gives up with an error naming the folder; a lost lock writes nothing; both outputs stay counted in Redis', async () => {
    const dir = path.join(tmp, 'lock');
    mkdirSync(dir);
    const [c, other] = await Promise.all([openRedis(redis.url), openRedis(redis.url)]);
    try {
      await recordPairOutput(c, 'tesg', job(dir, 0));
      const before = readFileSync(path.join(dir, FUSE_MANIFEST), 'utf8');
      // Another worker holds the folder's lock (and keeps it): the wait ends after waitMs.
      await other.set(manifestLockKey(dir), 'other-worker', 'PX', 60_000);
      const t0 = Date.now();
      await assert.rejects(recordPairOutput(c, 'tesg', job(dir, 1), { waitMs: 400 }), (err: unknown) =>
        err instanceof QueueError && err.message.includes(`gave up after 0.4 s waiting for the lock on output folder ${dir} `) && !err.message.includes('\n'));
      assert.ok(Date.now() - t0 < 3000, `waited ${Date.now() - t0} ms`);
      assert.equal(readFileSync(path.join(dir, FUSE_MANIFEST), 'utf8'), before);
      await other.del(manifestLockKey(dir));

      // The holder stalls and another worker takes the lock before the write (here: just after the
      // counts are read): the stale holder writes nothing.
      const scard = c.scard.bind(c);
      c.scard = (async (key: string) => {
        await other.set(manifestLockKey(dir), 'other-worker', 'PX', 60_000);
        return scard(key);
      }) as typeof c.scard;
      await assert.rejects(recordPairOutput(c, 'tesg', job(dir, 2)), (err: unknown) => err instanceof QueueError && /^lost the lock on output folder .*; nothing was written/.test(err.message));
      c.scard = scard;
      assert.equal(readFileSync(path.join(dir, FUSE_MANIFEST), 'utf8'), before);
      assert.equal(await other.get(manifestLockKey(dir)), 'other-worker', 'the new holder\'s lock is not released by the stale one');
      await other.del(manifestLockKey(dir));
      // The next job writes the totals: the 3 outputs, none lost to the failed writes.
      assert.deepEqual((await recordPairOutput(c, 'tesg', job(dir, 3))).runs.map((r) => r.fused), [4]);
      assert.deepEqual(manifest(dir).runs.map((r) => r.fused), [4]);
    } finally {
      c.disconnect();
      other.disconnect();
    }
  });

  test('withRedisLock: a holder stalled past the ttl finds the lock lost at assertHeld; renewals keep a live one', async () => {
    const [c, other] = await Promise.all([openRedis(redis.url), openRedis(redis.url)]);
    try {
      // Stalled: the thread is blocked (as by a long synchronous step), no renewal runs, the key expires and another takes it.
      await assert.rejects(
        withRedisLock(c, 'tesg:test:stall', async (lock) => {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
          assert.equal(await other.set('tesg:test:stall', 'other', 'PX', 10_000, 'NX'), 'OK', 'expired while stalled');
          await lock.assertHeld();
        }, { ttlMs: 200, what: 'the test folder' }),
        /^QueueError: lost the lock on the test folder \(Redis key tesg:test:stall\)/,
      );
      assert.equal(await other.get('tesg:test:stall'), 'other');
      // Alive (not blocked) for 3 ttl: the renewals keep it, and it is released afterwards.
      const held = await withRedisLock(c, 'tesg:test:alive', async (lock) => {
        await new Promise((r) => setTimeout(r, 1200));
        await lock.assertHeld();
        return other.set('tesg:test:alive', 'other', 'NX');
      }, { ttlMs: 400 });
      assert.equal(held, null, 'still held after 3 ttl');
      assert.equal(await other.exists('tesg:test:alive'), 0, 'released');
    } finally {
      c.disconnect();
      other.disconnect();
    }
  });

  test('a pair job whose record fails (damaged tesg-fuse.json) completes with a one-line warning; the manifest is left as it is; leftover manifest temp files are removed', async () => {
    // Pairs untouched by the test above (it changed the first one's IR).
    const dir = path.join(tmp, 'damaged');
    mkdirSync(dir);
    const damaged = '{"tool": "tesg fuse", "runs": [';
    writeFileSync(path.join(dir, FUSE_MANIFEST), damaged);
    const ir = path.join(IR, `${stems[2]}.png`), vi = path.join(VI, `${stems[2]}.png`), out = path.join(dir, `${stems[2]}.png`);
    const fuse = { method: 'average', stretch: 'minmax', gray: false, quality: 95, params: {} } as const;
    const d: PairJob = { kind: 'pair', format: JOB_FORMAT, stem: stems[2], ir, vi, out, fuse, hash: await pairHash(ir, vi, out, fuse) };
    const c = await openRedis(redis.url);
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (String(chunk).startsWith('tesg: warning:') ? (warnings.push(String(chunk)), true) : write(chunk, ...rest))) as typeof process.stderr.write;
    try {
      const r = await runPairJob({ updateProgress: async () => {} }, d, { redis: c, queue: 'damaged' });
      assert.equal(r.out, out);
      assert.ok(readFileSync(out).equals(readFileSync(path.join(REF, `${stems[2]}.png`))), 'the image is written');
      assert.equal(await c.hget(fusedKey('damaged'), out), d.hash, 'and recorded as fused');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], new RegExp(`^tesg: warning: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is written but not counted in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/tesg-fuse\\.json: .*not valid JSON.*move it aside.*\n$`));
      assert.equal(warnings[0].split('\n').length, 2, 'one line');
      assert.equal(readFileSync(path.join(dir, FUSE_MANIFEST), 'utf8'), damaged, 'not replaced');

      // Once the damaged file is moved aside, the next job's record counts both outputs; a dead writer's temp file is removed.
      renameSync(path.join(dir, FUSE_MANIFEST), path.join(dir, 'tesg-fuse.json.damaged'));
      const leftovers = ['.tesg-fuse.json.4242.1700000000000.tmp', `.${stems[3]}.png.4242.1700000000000.tmp`];
      for (const f of leftovers) writeFileSync(path.join(dir, f), 'partial');
      const d2 = { ...d, stem: stems[3], ir: path.join(IR, `${stems[3]}.png`), vi: path.join(VI, `${stems[3]}.png`), out: path.join(dir, `${stems[3]}.png`) };
      await runPairJob({ updateProgress: async () => {} }, d2, { redis: c, queue: 'damaged' });
      assert.equal(warnings.length, 1, warnings.join(''));
      assert.deepEqual(manifest(dir).runs.map((r) => [r.method, r.fused]), [['average', 2]]);
      assert.deepEqual(readdirSync(dir).sort(), [FUSE_MANIFEST, 'tesg-fuse.json.damaged', `${stems[2]}.png`, `${stems[3]}.png`].sort());
    } finally {
      process.stderr.write = write;
      c.disconnect();
    }
  });
});

test('tesg-fuse.json: none is a fresh manifest; a damaged, foreign or unreadable one is an InputError naming it, and never replaced', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tesg-manifest-'));
  try {
    const file = path.join(dir, FUSE_MANIFEST);
    assert.equal(await readFuseManifest(dir), null);
    const run: FuseRunRecord = { date: '2026-01-01T00:00:00.000Z', tesgVersion: '0', command: 'tesg fuse', method: 'max', weights: null, sig: null, fused: 3, skipped: 0 };
    await appendFuseManifest(dir, run);
    await mergeFuseManifest(dir, { ...run, fused: 2 }, () => true);
    assert.deepEqual((await readFuseManifest(dir))?.runs.map((r) => r.fused), [5]);
    await mergeFuseManifest(dir, { ...run, fused: 7 }, () => true, { counts: 'set' });
    assert.deepEqual((await readFuseManifest(dir))?.runs.map((r) => r.fused), [7]);
    const cases: Array<[string, string, RegExp]> = [
      ['damaged', '{"tool": "tesg fuse", "runs": [{"date"', /: not valid JSON \(.*\); the fuse manifest is damaged: move it aside/],
      ['foreign', '{"name": "some other tool", "files": []}\n', /: not a tesg fuse manifest .*; move it aside/],
      ['empty', '', /: not valid JSON/],
    ];
    for (const [what, text, pattern] of cases) {
      writeFileSync(file, text);
      const named = (err: unknown) => err instanceof InputError && err.file === file && err.message.startsWith(`${file}: `) && pattern.test(err.message) && !err.message.includes('\n');
      await assert.rejects(readFuseManifest(dir), named, what);
      await assert.rejects(mergeFuseManifest(dir, run, () => true), named, what);
      await assert.rejects(appendFuseManifest(dir, run), named, what);
      assert.equal(readFileSync(file, 'utf8'), text, `${what}: left as it was`);
    }
    // Not ENOENT, yet unreadable: a folder in its place.
    rmSync(file);
    mkdirSync(file);
    await assert.rejects(mergeFuseManifest(dir, run, () => true), (err: unknown) => err instanceof InputError && /^.*tesg-fuse\.json: cannot read the fuse manifest \(EISDIR\); .*move it aside/.test(err.message));
    assert.deepEqual(readdirSync(dir), [FUSE_MANIFEST], 'nothing written beside it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

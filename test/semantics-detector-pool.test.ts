/**
 * ParallelDetector (src/semantics/detector-pool.ts): the SIG detector on this thread plus a worker
 * thread. Its detections must equal CenterNetDetector's to the bit (same wasm backend, same model),
 * whichever thread ran them; the SIG with it must equal the SIG without it; errors from the worker
 * arrive as errors; and a process that used it exits (the worker is unref'd, and dispose() ends it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, UsageError } from '../src/errors.js';
import { readImage } from '../src/image/read.js';
import type { Image8 } from '../src/image/types.js';
import { CenterNetDetector, type Detection } from '../src/semantics/detector.js';
import { defaultDetectorWorkers, DETECTOR_WORKERS_ENV, ParallelDetector } from '../src/semantics/detector-pool.js';
import { defaultProviders, runSig } from '../src/semantics/sig.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pairs: Record<string, { vi: Image8; ir: Image8 }> = {};
let single: CenterNetDetector;
let pool: ParallelDetector;
const reference = new Map<Image8, Detection[]>();

before(async () => {
  for (const stem of ['00537D', '01102N']) {
    pairs[stem] = { vi: await readImage(path.join(ROOT, `samples/msrs/vi/${stem}.png`)), ir: await readImage(path.join(ROOT, `samples/msrs/ir/${stem}.png`)) };
  }
  pool = new ParallelDetector();
  single = await CenterNetDetector.load();
  for (const { vi, ir } of Object.values(pairs)) for (const img of [vi, ir]) reference.set(img, await single.detect(img));
});
after(async () => {
  await pool.dispose();
  single.dispose();
});

test('pool: detections equal CenterNetDetector\'s exactly, from the worker and from this thread', async () => {
  assert.equal(await pool.workerLoaded, true, `worker did not load: ${pool.workerError?.message}`);
  for (const { vi, ir } of Object.values(pairs)) {
    // One call at a time: the worker takes it (it is preferred when both are free).
    const before = pool.served.worker;
    assert.deepStrictEqual(await pool.detect(vi), reference.get(vi));
    assert.deepStrictEqual(await pool.detect(ir), reference.get(ir));
    assert.equal(pool.served.worker, before + 2);
    // Both at once: one on each thread.
    const main0 = pool.served.main, worker0 = pool.served.worker;
    const [dv, di] = await Promise.all([pool.detect(vi), pool.detect(ir)]);
    assert.deepStrictEqual(dv, reference.get(vi));
    assert.deepStrictEqual(di, reference.get(ir));
    assert.deepEqual([pool.served.main - main0, pool.served.worker - worker0], [1, 1], 'one on each thread');
  }
  assert.ok(reference.get(pairs['00537D'].vi)!.length > 0, 'the sample has detections to compare');
});

test('pool: more calls than threads all complete, in any order, each with its own image\'s detections', async () => {
  const imgs = Object.values(pairs).flatMap((p) => [p.vi, p.ir]);
  const main0 = pool.served.main, worker0 = pool.served.worker;
  const got = await Promise.all([...imgs, ...imgs].map((img) => pool.detect(img)));
  got.forEach((d, i) => assert.deepStrictEqual(d, reference.get(imgs[i % imgs.length])));
  assert.equal(pool.served.main - main0 + pool.served.worker - worker0, 8);
  assert.ok(pool.served.main > main0 && pool.served.worker > worker0, 'both threads ran some');
});

test('pool: the same detect options reach the worker (classes, minScore, inputLong)', async () => {
  const { vi } = pairs['00537D'];
  const opts = { classes: ['person'], minScore: 0.3, inputLong: 320 };
  const want = await single.detect(vi, opts);
  assert.deepStrictEqual(await pool.detect(vi, opts), want); // worker (both free)
  const [a, b] = await Promise.all([pool.detect(vi, opts), pool.detect(vi, opts)]); // one on each
  assert.deepStrictEqual(a, want);
  assert.deepStrictEqual(b, want);
});

test('pool: a detection error in the worker arrives as an Error with the main thread\'s message', async () => {
  const { ir } = pairs['00537D'];
  const bad = { inputLong: Number.NaN };
  const expected = await single.detect(ir, bad).then(
    () => assert.fail('expected the detector to reject a NaN input size'),
    (e: Error) => e,
  );
  const worker0 = pool.served.worker;
  await assert.rejects(pool.detect(ir, bad), (e: Error) => e instanceof Error && e.message === expected.message);
  // The worker is still usable afterwards (and the error did not count as served).
  assert.equal(pool.served.worker, worker0);
  assert.deepStrictEqual(await pool.detect(ir), reference.get(ir));
  assert.equal(pool.served.worker, worker0 + 1);
});

test('SIG: runSig with the detector worker equals runSig without it (v2 and v1)', async () => {
  for (const version of ['v2', 'v1'] as const) {
    const withPool = defaultProviders({ version, detectorWorkers: 1, detectorBackend: 'tfjs' });
    const without = defaultProviders({ version, detectorWorkers: 0, detectorBackend: 'tfjs' });
    try {
      // Each pair twice: the SIG's pool starts its worker at the second pair (SIG_WORKER_AFTER).
      for (const { vi, ir } of [...Object.values(pairs), ...Object.values(pairs)]) {
        // Copies: the providers memoise detections per image object.
        const a = await runSig({ ir: { ...ir }, vi: { ...vi }, providers: withPool });
        const b = await runSig({ ir: { ...ir }, vi: { ...vi }, providers: without });
        assert.deepStrictEqual(a, b, `SIG ${version}`);
        assert.ok(a.keywords.length > 0);
      }
    } finally {
      for (const p of [withPool, without]) await (p.masker as unknown as { dispose(): Promise<void> }).dispose();
    }
  }
});

test('pool cold: calls made before either detector has loaded give the same detections', async () => {
  const cold = new ParallelDetector();
  try {
    const imgs = Object.values(pairs).flatMap((p) => [p.vi, p.ir]);
    // The first may be posted ahead to the loading worker and taken back by this thread: either way, once.
    const got = await Promise.all(imgs.map((img) => cold.detect(img)));
    got.forEach((d, i) => assert.deepStrictEqual(d, reference.get(imgs[i])));
    assert.equal(cold.served.main + cold.served.worker, imgs.length);
  } finally {
    await cold.dispose();
  }
});

test('pool: workerAfter keeps the first calls on this thread and starts the worker after them', async () => {
  const lazy = new ParallelDetector({ workerAfter: 2 });
  try {
    const { vi, ir } = pairs['00537D'];
    assert.deepStrictEqual(await Promise.all([lazy.detect(vi), lazy.detect(ir)]), [reference.get(vi), reference.get(ir)]);
    assert.deepEqual(lazy.served, { main: 2, worker: 0 });
    assert.equal(lazy.workerReady, false);
    assert.deepStrictEqual(await lazy.detect(vi), reference.get(vi)); // the third call starts the worker
    assert.equal(await lazy.workerLoaded, true);
    assert.deepStrictEqual(await lazy.detect(ir), reference.get(ir));
    assert.ok(lazy.served.worker >= 1);
  } finally {
    await lazy.dispose();
  }
});

test('pool: a model that cannot be read rejects detect() with the InputError of CenterNetDetector.load', async () => {
  const broken = new ParallelDetector({ modelJson: path.join(ROOT, 'no-such-dir', 'centernet.json') });
  await assert.rejects(broken.loaded, InputError);
  await assert.rejects(broken.detect(pairs['00537D'].vi), (e: Error) => e instanceof InputError && /no-such-dir/.test(e.message));
  assert.equal(await broken.workerLoaded, false);
  await broken.dispose();
  await assert.rejects(broken.detect(pairs['00537D'].vi), /after dispose/);
});

test('defaultDetectorWorkers: TESG_DETECTOR_WORKERS overrides the core count; other values are a UsageError', () => {
  const saved = process.env[DETECTOR_WORKERS_ENV];
  try {
    process.env[DETECTOR_WORKERS_ENV] = '0';
    assert.equal(defaultDetectorWorkers(), 0);
    process.env[DETECTOR_WORKERS_ENV] = '1';
    assert.equal(defaultDetectorWorkers(), 1);
    process.env[DETECTOR_WORKERS_ENV] = '2';
    assert.throws(() => defaultDetectorWorkers(), UsageError);
  } finally {
    if (saved === undefined) delete process.env[DETECTOR_WORKERS_ENV];
    else process.env[DETECTOR_WORKERS_ENV] = saved;
  }
});

/** Runs `code` (an ES module, tsx loaded) in a new Node process; resolves with its exit code and output. */
function runNode(code: string, timeoutMs: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, out: stdout + stderr });
    });
  });
}

const SCRIPT = (dispose: boolean) => `
import { readImage } from './src/image/read.ts';
import { ParallelDetector } from './src/semantics/detector-pool.ts';
import { defaultProviders, runSig } from './src/semantics/sig.ts';
const read = async (stem) => ({ vi: await readImage('samples/msrs/vi/' + stem + '.png'), ir: await readImage('samples/msrs/ir/' + stem + '.png') });
const pairs = [await read('00537D'), await read('01102N')];
// The SIG's pool starts its worker at the second pair: three pairs, so it is running at the end.
const providers = defaultProviders({ detectorWorkers: 1, detectorBackend: 'tfjs' });
for (const p of [...pairs, pairs[0]]) console.log('caption:', (await runSig({ ir: { ...p.ir }, vi: { ...p.vi }, providers })).caption);
const pool = new ParallelDetector();
console.log('worker loaded:', await pool.workerLoaded);
await Promise.all([pool.detect(pairs[0].vi), pool.detect(pairs[0].ir)]);
console.log('served by the worker:', pool.served.worker);
${dispose ? 'await providers.masker.dispose(); await pool.dispose();' : ''}
`;

test('process exit: a process that ran the SIG with the worker exits, with and without dispose()', async () => {
  for (const dispose of [true, false]) {
    const r = await runNode(SCRIPT(dispose), 120_000);
    assert.equal(r.signal, null, `the process did not exit by itself (dispose ${dispose}): ${r.out}`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /caption: /);
    assert.match(r.out, /worker loaded: true/);
    assert.match(r.out, /served by the worker: 1/);
  }
});

/**
 * Cold start of `tesg fuse IR VI -o OUT`: the CLI loads only the invoked command, the SIG detector runs
 * on onnxruntime without tfjs (whose backend, where tfjs is set up, skips the gradient functions:
 * training loads them when it starts), the onnxruntime
 * session can live on a worker thread with the same numbers, and the process leaves the phase marks
 * `tesg bench` reports. Timings themselves are measured by `tesg bench --cold N`, not here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InputError } from '../src/errors.js';
import { OnnxModel } from '../src/runtime/onnx.js';
import { OnnxThreadModel } from '../src/runtime/onnx-thread.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tesg-cold-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const sample = (m: 'ir' | 'vi') => path.join(ROOT, 'samples', 'msrs', m, '01102N.png');
const RECORDER = path.join(ROOT, 'test', 'helpers', 'record-imports.mjs');

/** `tesg fuse` under tsx with every resolved module URL logged, and the startup trace written. */
async function fuseTraced(name: string, extra: string[]): Promise<{ modules: string[]; marks: Array<{ name: string; ms: number; cpuMs: number }> }> {
  const log = path.join(tmp, `${name}.imports`);
  const trace = path.join(tmp, `${name}.trace.json`);
  await run(process.execPath, ['--import', RECORDER, '--import', 'tsx', 'src/cli/main.ts', 'fuse', sample('ir'), sample('vi'), '-o', path.join(tmp, `${name}.png`), ...extra], {
    cwd: ROOT,
    env: { ...process.env, TESG_IMPORT_LOG: log, TESG_STARTUP_TRACE: trace },
  });
  return { modules: readFileSync(log, 'utf8').trim().split('\n'), marks: JSON.parse(readFileSync(trace, 'utf8')) };
}

const loaded = (modules: string[], part: string) => modules.some((u) => u.includes(part));

test('a classic fuse loads neither tfjs nor onnxruntime nor other commands', async () => {
  const { modules, marks } = await fuseTraced('average', ['--method', 'average']);
  assert.ok(loaded(modules, '/src/cli/commands/fuse.ts'), 'the fuse command itself');
  for (const part of ['@tensorflow/', 'onnxruntime-node', '/src/cli/commands/train.ts', '/src/cli/commands/downstream.ts', '/src/cli/commands/index.ts', 'vega']) {
    assert.ok(!loaded(modules, part), `loaded ${part}: ${modules.filter((u) => u.includes(part)).slice(0, 2).join(', ')}`);
  }
  assert.deepEqual(marks.map((m) => m.name), ['cli-ready', 'images-read', 'fused', 'written', 'exit']);
});

test('the default (network) fuse: no tfjs, no other command, every phase marked in order', async () => {
  const { modules, marks } = await fuseTraced('tesg', []);
  // The SIG detector runs on onnxruntime (src/semantics/centernet-ort.ts): a cold fuse loads no tfjs at all.
  assert.ok(loaded(modules, '/src/semantics/centernet-ort.ts'), 'the SIG detector runs on onnxruntime');
  assert.ok(!loaded(modules, '@tensorflow/'), `loaded tfjs: ${modules.filter((u) => u.includes('@tensorflow/')).slice(0, 2).join(', ')}`);
  // The network runs on onnxruntime on a worker thread, which alone loads onnxruntime-node
  // (test/export-onnx-metadata.test.ts checks the main thread's CommonJS cache). The ONNX file's
  // config comes from src/export/onnx-metadata.ts, without the export's modules (network builder,
  // model, training, onnx-proto), which no thread of a fuse loads.
  assert.ok(loaded(modules, '/src/runtime/onnx-thread.ts'), 'the network runs on the onnxruntime worker');
  for (const part of ['/src/export/export.ts', '/src/model/model.ts', '/src/training/', 'onnx-proto']) {
    assert.ok(!loaded(modules, part), `loaded ${part}: ${modules.filter((u) => u.includes(part)).slice(0, 2).join(', ')}`);
  }
  assert.ok(!loaded(modules, 'register_all_gradients'), 'inference loads no gradient functions');
  assert.ok(!loaded(modules, '/src/cli/commands/train.ts'));
  assert.deepEqual(marks.map((m) => m.name), [
    'cli-ready', 'images-read', 'sig-modules', 'detector-loaded', 'sig', 'network-loaded', 'network-run', 'fused', 'written', 'exit',
  ]);
  for (let i = 1; i < marks.length; i++) {
    assert.ok(marks[i].ms >= marks[i - 1].ms && marks[i].cpuMs >= marks[i - 1].cpuMs, `${marks[i].name} after ${marks[i - 1].name}`);
  }
});

test('initBackend without gradients, then with: the second call registers them', async () => {
  const { tf } = await import('../src/model/tfjs.js');
  const { initBackend } = await import('../src/runtime/backend.js');
  await initBackend('wasm', { gradients: false });
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(tf.getGradient('Sum'), undefined, 'no gradient functions after an inference-only set-up');
  await initBackend('wasm');
  assert.notEqual(tf.getGradient('Sum'), undefined, 'training gets them');
  const g = tf.grad((x: import('@tensorflow/tfjs-core').Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2, 3]));
  assert.deepEqual(Array.from(await g.data()), [2, -4, 6]);
});

test('onnxruntime on a worker thread: bit-identical outputs to the main-thread session, same errors', async () => {
  const file = path.join(ROOT, 'weights', 'tesg.onnx');
  const [direct, threaded] = await Promise.all([OnnxModel.load(file, { threads: 1 }), OnnxThreadModel.load(file, { threads: 1 })]);
  try {
    assert.deepEqual(threaded.inputs, direct.inputs);
    assert.deepEqual(threaded.outputs, direct.outputs);
    const [h, w] = [48, 64];
    const text = direct.input('text')!.shape.map((d) => (typeof d === 'number' ? d : 1));
    let s = 11;
    const rand = (n: number) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
    const feeds = {
      ir: { dims: [1, 1, h, w], data: rand(h * w) },
      vi: { dims: [1, 3, h, w], data: rand(3 * h * w) },
      mask: { dims: [1, 1, h, w], data: Float32Array.from(rand(h * w), (v) => (v > 0.7 ? 1 : 0)) },
      text: { dims: text, data: rand(text.reduce((a, b) => a * b, 1)) },
    };
    const [a, b] = [await direct.run(feeds), await threaded.run(feeds)];
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const k of Object.keys(a)) {
      assert.deepEqual(b[k].dims, a[k].dims);
      assert.ok(a[k].data.length > 1000 && a[k].data.every((v, i) => Object.is(v, b[k].data[i])), `${k} differs`);
    }
    const { mask: _mask, ...missing } = feeds;
    await assert.rejects(threaded.run(missing), (e: unknown) => e instanceof InputError && e.file === file && /missing inputs: mask/.test(e.message));
    assert.throws(() => threaded.requireInputs('depth'), /model has no input 'depth'/);
  } finally {
    await Promise.all([direct.release(), threaded.release()]);
  }
  await assert.rejects(OnnxThreadModel.load(path.join(tmp, 'none.onnx')), (e: unknown) => e instanceof InputError && /model file not found/.test(e.message));
});

/**
 * `tesg fuse` starts the network's ONNX session from its raw arguments before the CLI modules load
 * (src/cli/prestart.ts, src/runtime/onnx-prestart.ts). Which invocations start one, with which file
 * and options (those OnnxFuser.load asks for, so it takes the session instead of loading another),
 * and that a prestarted session runs the network exactly as one loaded the usual way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { prestartFromArgv } from '../src/cli/prestart.js';
import { OnnxFuser } from '../src/export/onnx-fuse.js';
import { readImage } from '../src/image/read.js';
import { takePrestartedSession } from '../src/runtime/onnx-prestart.js';
import { ROOT } from './helpers/cli.js';

const ONNX = path.join(ROOT, 'weights', 'tesg.onnx');
const V21 = path.join(ROOT, 'weights', 'tesg-v2.1', 'tesg.onnx');
const pair = [path.join(ROOT, 'samples/msrs/ir/01102N.png'), path.join(ROOT, 'samples/msrs/vi/01102N.png'), '-o', 'x.png'];
const argv = (...rest: string[]) => ['node', 'tesg', ...rest];
const all = { threads: availableParallelism(), spinning: false };

test('which invocations prestart the session, for which file and thread count', async () => {
  const none: string[][] = [
    ['fuse', ...pair, '--method', 'max'],
    ['fuse', ...pair, '-m', 'laplacian'],
    ['fuse', ...pair, '--backend', 'tfjs'],
    ['fuse', ...pair, '--help'],
    ['fuse', ...pair, '--weights', path.join(ROOT, 'weights', 'none.safetensors')],
    ['eval', '--ir', 'a', '--vi', 'b'],
    ['fuse', 'no/such/ir.png', pair[1], '-o', 'x.png'], // fails at once: a load would delay the error
    ['fuse', '--ir', 'no/such/dir', '--vi', path.dirname(pair[1]), '--out', 'O'],
  ];
  for (const args of none) {
    prestartFromArgv(argv(...args));
    assert.equal(takePrestartedSession(ONNX, all), undefined, args.join(' '));
  }
  const started: Array<[string[], string, { threads: number; spinning: boolean }]> = [
    [['fuse', ...pair], ONNX, all],
    [['fuse', '--ir', path.dirname(pair[0]), '--vi', path.dirname(pair[1]), '--out', 'O', '--method=tesg'], ONNX, all],
    [['fuse', '-o', 'x.png', pair[0], pair[1]], ONNX, all], // inputs not first: not checked, started
    [['fuse', ...pair, '--threads', '1'], ONNX, { threads: 1, spinning: false }],
    [['fuse', ...pair, '--weights', path.join(ROOT, 'weights', 'tesg-v2.1', 'tesg.safetensors')], V21, all],
  ];
  for (const [args, file, options] of started) {
    prestartFromArgv(argv(...args));
    const session = takePrestartedSession(file, options);
    assert.ok(session, args.join(' '));
    const model = await session;
    assert.ok(model, 'loaded');
    assert.deepEqual(model.inputs.map((i) => i.name).sort(), ['ir', 'mask', 'text', 'vi']);
    await model.release();
    assert.equal(takePrestartedSession(file, options), undefined, 'handed over once');
  }
});

test('OnnxFuser takes the prestarted session; its fusion is the usual one, byte for byte', async () => {
  const [ir, vi] = await Promise.all([readImage(pair[0]), readImage(pair[1])]);
  const input = { ir, vi, mask: { width: ir.width, height: ir.height, data: new Uint8Array(ir.width * ir.height).fill(0) }, embedding: new Float32Array(77 * 64), textEncoderId: 'tesg-lexicon-v1-77x64' };
  const plain = await OnnxFuser.load(ONNX, { worker: true, threads: 1 });
  const want = await plain.predict(input);
  await plain.model.release();
  prestartFromArgv(argv('fuse', ...pair, '--threads', '1'));
  const pre = await OnnxFuser.load(ONNX, { worker: true, threads: 1 });
  assert.equal(takePrestartedSession(ONNX, { threads: 1, spinning: false }), undefined, 'OnnxFuser took it');
  const got = await pre.predict(input);
  await pre.model.release();
  assert.deepEqual(got.data, want.data);
});

/** A child that starts a session load on a worker, waits `ms`, then exits 2, first waiting for the load when `settle`. */
function exitDuringLoad(settle: boolean, ms: number): Promise<number | null> {
  const script = `
    import { OnnxThreadModel, onnxLoadsSettled } from ${JSON.stringify(path.join(ROOT, 'src/runtime/onnx-thread.ts'))};
    void OnnxThreadModel.load(${JSON.stringify(ONNX)}, { threads: 1 }).catch(() => {});
    await new Promise((r) => setTimeout(r, ${ms}));
    ${settle ? 'await onnxLoadsSettled();' : ''}
    process.exit(2);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
}

test('exiting while a session loads on a worker: after onnxLoadsSettled the exit code is the one asked for (the CLI\'s error path)', async (t) => {
  // Without the wait, process.exit inside onnxruntime's session creation aborts the process (134:
  // 'terminate called after throwing an instance of Napi::Error') when it lands in that window.
  t.diagnostic(`without the wait: exit ${await exitDuringLoad(false, 300)} at 300 ms, ${await exitDuringLoad(false, 600)} at 600 ms`);
  for (const ms of [300, 600]) assert.equal(await exitDuringLoad(true, ms), 2, `exit after ${ms} ms`);
});

/**
 * Run one function written against Ops<T> (an op, a block, the whole network) twice: with the tfjs
 * ops on tfjs-cpu, and as an exported ONNX graph on onnxruntime; return both outputs in NHWC.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../src/model/tfjs.js';
import type { Ops } from '../../src/model/ops.js';
import { TfOps } from '../../src/model/ops-tfjs.js';
import { OnnxOps, type OnnxOpsOptions } from '../../src/model/ops-onnx.js';
import { ParamStore, type NamedArray } from '../../src/model/params.js';
import { OnnxModel } from '../../src/runtime/onnx.js';
import { chwToHwc, hwcToChw } from '../../src/export/layout.js';

export interface ParityInput {
  /** 'map': a feature map [1, H, W, C] (NHWC here, NCHW in ONNX); 'tokens': [1, T, D], same in both. */
  kind: 'map' | 'tokens';
  shape: number[];
  data: Float32Array;
}

export type OpsFn = <T>(ops: Ops<T>, inputs: T[]) => T;

export const tmp = mkdtempSync(path.join(tmpdir(), 'tesg-export-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function runTfjs(fn: OpsFn, inputs: ParityInput[], weights: ReadonlyMap<string, NamedArray>): { shape: number[]; data: Float32Array } {
  const store = new ParamStore('strict');
  for (const [k, v] of weights) store.set(k, v);
  const ops = new TfOps(store);
  try {
    const y = tf.tidy(() => fn(ops, inputs.map((i) => tf.tensor(i.data, i.shape))));
    const out = { shape: y.shape, data: y.dataSync() as Float32Array };
    y.dispose();
    return out;
  } finally {
    ops.dispose();
    store.dispose();
  }
}

/** Build the graph of `fn` (dynamic H, W for maps), run it on onnxruntime, return NHWC. */
export async function runOnnx(
  fn: OpsFn,
  inputs: ParityInput[],
  weights: ReadonlyMap<string, NamedArray>,
  options: OnnxOpsOptions = {},
): Promise<{ shape: number[]; data: Float32Array }> {
  const ops = new OnnxOps(weights, options);
  const syms = inputs.map((inp, i) =>
    inp.kind === 'map' ? ops.input(`in${i}`, [1, inp.shape[3], 'height', 'width']) : ops.input(`in${i}`, inp.shape),
  );
  ops.output(fn(ops, syms), 'out');
  const file = path.join(tmp, `op${fileNo++}.onnx`);
  writeFileSync(file, ops.graph.toBytes());
  const model = await OnnxModel.load(file, { threads: 1 });
  try {
    const feeds = Object.fromEntries(
      inputs.map((inp, i) => {
        if (inp.kind === 'tokens') return [`in${i}`, { dims: inp.shape, data: inp.data }];
        const [, h, w, c] = inp.shape;
        return [`in${i}`, { dims: [1, c, h, w], data: hwcToChw(inp.data, h, w, c) }];
      }),
    );
    const y = (await model.run(feeds)).out;
    if (y.dims.length !== 4) return { shape: y.dims, data: Float32Array.from(y.data) };
    const [, c, h, w] = y.dims;
    return { shape: [1, h, w, c], data: chwToHwc(y.data, h, w, c) };
  } finally {
    await model.release();
  }
}

/**
 * Training-speed benchmark (issue 8): per-kernel forward vs forward+backward times for the shapes a
 * Restormer block sees, before (naive composed kernels / tfjs-wasm's own) and after (src/runtime/kernels),
 * then a whole training step of the probe block stack, one process vs worker replicas.
 *
 *   npm run bench -- train-kernels [--dim 24] [--batch 8] [--size 96] [--reps 5] [--dims 16,24,32]
 *                                  [--blocks 4] [--workers 2] [--micro 2] [--skip-naive] [--skip-kernels] [--skip-step]
 *
 * Effective GFLOP/s of a step = 3 x forward FLOPs (forward + two backward products) / step time.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, wasmHeapBytes } from '../src/runtime/backend.js';
import { originalKernel, registerTrainingKernels } from '../src/runtime/kernels/register.js';
import { createParallelTrainer } from '../src/runtime/parallel.js';
import { initProbeWeights, probeForwardFlops, type ProbeNetConfig } from '../src/runtime/probe-net.js';

interface Args {
  dim: number;
  batch: number;
  size: number;
  reps: number;
  dims: number[];
  blocks: number;
  workers: number;
  micro: number;
  naive: boolean;
  kernels: boolean;
  step: boolean;
}

function parse(argv: string[]): Args {
  const get = (k: string, d: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
  };
  const dim = Number(get('dim', '24'));
  return {
    dim,
    batch: Number(get('batch', '8')),
    size: Number(get('size', '96')),
    reps: Number(get('reps', '5')),
    dims: get('dims', String(dim)).split(',').map(Number),
    blocks: Number(get('blocks', '4')),
    workers: Number(get('workers', '2')),
    micro: Number(get('micro', '2')),
    naive: !argv.includes('--skip-naive'),
    kernels: !argv.includes('--skip-kernels'),
    step: !argv.includes('--skip-step'),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Median CPU milliseconds (user + system) of this thread's process over `reps` runs. The kernels run
 * on this one thread, so on an idle machine CPU time equals wall time; on this shared 2-core machine
 * (load average 4-9 from other jobs while measuring) CPU time is the figure that stays stable.
 */
function timeIt(reps: number, f: () => tf.Tensor[]): number {
  const ts: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const c0 = process.cpuUsage();
    const out = f();
    for (const t of out) t.dataSync();
    tf.dispose(out);
    const c = process.cpuUsage(c0);
    if (i > 0) ts.push((c.user + c.system) / 1000); // the first run warms XNNPACK's operator caches
  }
  return median(ts);
}

interface KernelCase {
  name: string;
  /** Forward FLOPs (2 per multiply-add). */
  flops: number;
  xShape: number[];
  wShape: number[];
  op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor;
}

function kernelCases(a: Args): KernelCase[] {
  const { batch: n, size: s, dim: c } = a;
  const h = Math.floor(c * 2.66);
  const px = n * s * s;
  const dw = (ch: number, label: string): KernelCase => ({
    name: `depthwise 3x3 ${label} (${ch} ch)`,
    flops: 2 * 9 * ch * px,
    xShape: [n, s, s, ch],
    wShape: [3, 3, ch, 1],
    op: (x, w) => tf.depthwiseConv2d(x, w, 1, 'same'),
  });
  const pw = (ci: number, co: number, label: string): KernelCase => ({
    name: `pointwise ${label} ${ci}->${co}`,
    flops: 2 * ci * co * px,
    xShape: [n, s, s, ci],
    wShape: [1, 1, ci, co],
    op: (x, w) => tf.conv2d(x, w, 1, 'valid'),
  });
  return [
    dw(c, 'C'),
    dw(h, '2.66C'),
    dw(3 * c, '3C'),
    dw(2 * h, 'GDFN 2x2.66C'),
    pw(c, 3 * c, 'qkv'),
    pw(c, 2 * h, 'ffn in'),
    pw(h, c, 'ffn out'),
    pw(c, c, 'attn out'),
    {
      name: `3x3 conv ${c}->${c}`,
      flops: 2 * 9 * c * c * px,
      xShape: [n, s, s, c],
      wShape: [3, 3, c, c],
      op: (x, w) => tf.conv2d(x, w, 1, 'same'),
    },
    {
      name: `attention q^T k + attn v (${c} ch)`,
      flops: 2 * 2 * c * c * px,
      xShape: [n, s, s, c],
      wShape: [1, 1, c, c],
      // w is reused as a per-image C x C attention matrix to keep one (x, w) signature.
      op: (x, w) => {
        const f = tf.reshape(x, [n, s * s, c]) as tf.Tensor3D;
        const scores = tf.matMul(f, f, true, false);
        const attn = tf.add(scores, tf.reshape(w, [1, c, c])) as tf.Tensor3D;
        return tf.matMul(f, attn, false, true);
      },
    },
  ];
}

function measureCase(k: KernelCase, reps: number): { fwd: number; both: number } {
  const x = tf.randomNormal<tf.Rank.R4>(k.xShape as [number, number, number, number]);
  const w = tf.mul(tf.randomNormal<tf.Rank.R4>(k.wShape as [number, number, number, number]), 0.1) as tf.Tensor4D;
  const fwd = timeIt(reps, () => [k.op(x, w)]);
  const both = timeIt(reps, () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(k.op(a as tf.Tensor4D, b as tf.Tensor4D)))([x, w]));
  tf.dispose([x, w]);
  return { fwd, both };
}

// ---- "before": what a first registration does (composed per-tap ops) and tfjs-wasm's own kernels ----

type Attrs = { strides: number | number[]; pad: unknown; filterShape?: number[]; inputShape?: number[] };

function samePad3(t: tf.Tensor4D): tf.Tensor4D {
  return tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]);
}

/** Depthwise dW by per-tap slices, multiply and sum (stride 1, 3x3 'same' only: the bench shapes). */
const naiveDepthwiseFilter: tf.KernelFunc = ({ inputs, attrs }) =>
  tf.tidy(() => {
    const x = inputs.x as tf.Tensor4D;
    const dy = inputs.dy as tf.Tensor4D;
    const [n, h, w, c] = x.shape;
    const xp = samePad3(x);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) taps.push(tf.sum(tf.mul(tf.slice(xp, [0, i, j, 0], [n, h, w, c]), dy), [0, 1, 2]));
    return tf.reshape(tf.stack(taps), (attrs as unknown as Attrs).filterShape as number[]);
  });

/** Depthwise dx by per-tap scaled, shifted copies of dy. */
const naiveDepthwiseInput: tf.KernelFunc = ({ inputs }) =>
  tf.tidy(() => {
    const dy = inputs.dy as tf.Tensor4D;
    const f = inputs.filter as tf.Tensor4D;
    const [n, h, w, c] = dy.shape;
    let dx: tf.Tensor = tf.zeros([n, h + 2, w + 2, c]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const tap = tf.reshape(tf.slice(f, [i, j, 0, 0], [1, 1, c, 1]), [c]);
        dx = tf.add(dx, tf.pad(tf.mul(dy, tap), [[0, 0], [i, 2 - i], [j, 2 - j], [0, 0]]));
      }
    }
    return tf.slice(dx, [0, 1, 1, 0], [n, h, w, c]);
  });

/** Conv dW by per-tap transposed matmuls through tfjs-wasm's own BatchMatMul. */
function naiveConvFilter(matmul: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, attrs, backend }) =>
    tf.tidy(() => {
      const x = inputs.x as tf.Tensor4D;
      const dy = inputs.dy as tf.Tensor4D;
      const fs = (attrs as unknown as Attrs).filterShape as number[];
      const [n, h, w, ci] = x.shape;
      const co = dy.shape[3];
      const k = fs[0];
      const xp = k === 3 ? samePad3(x) : x;
      const dy2 = tf.reshape(dy, [n * h * w, co]);
      const taps: tf.Tensor[] = [];
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const tap = tf.reshape(tf.slice(xp, [0, i, j, 0], [n, h, w, ci]), [n * h * w, ci]);
          const r = matmul({ inputs: { a: tap, b: dy2 }, backend, attrs: { transposeA: true, transposeB: false } }) as tf.TensorInfo;
          taps.push(tf.reshape(tf.engine().makeTensorFromTensorInfo(r), [ci, co]));
        }
      }
      return tf.reshape(tf.stack(taps), fs);
    });
}

function swapKernels(naive: boolean): void {
  const names = [tf.DepthwiseConv2dNativeBackpropFilter, tf.DepthwiseConv2dNativeBackpropInput, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.BatchMatMul];
  for (const name of names) tf.unregisterKernel(name, 'wasm');
  if (!naive) {
    // registerTrainingKernels registers once per process; re-register the fast ones by hand.
    for (const cfg of fastKernels.values()) tf.registerKernel(cfg);
    return;
  }
  const origMatMul = originalKernel(tf.BatchMatMul) as tf.KernelConfig;
  const reg = (kernelName: string, kernelFunc: tf.KernelFunc) => tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  reg(tf.DepthwiseConv2dNativeBackpropFilter, naiveDepthwiseFilter);
  reg(tf.DepthwiseConv2dNativeBackpropInput, naiveDepthwiseInput);
  reg(tf.Conv2DBackpropFilter, naiveConvFilter(origMatMul.kernelFunc));
  tf.registerKernel(originalKernel(tf.Conv2DBackpropInput) as tf.KernelConfig);
  tf.registerKernel(origMatMul);
}

const fastKernels = new Map<string, tf.KernelConfig>();

function gflops(flops: number, ms: number): string {
  return (flops / ms / 1e6).toFixed(1);
}

async function kernelTable(a: Args): Promise<void> {
  console.log(`\n## Kernels: batch ${a.batch}, ${a.size}x${a.size}, dim ${a.dim}; median of ${a.reps}, CPU ms of the one busy thread (GFLOP/s of fwd+bwd = 3 x fwd FLOPs / time)`);
  console.log('| kernel | fwd | fwd+bwd after | ratio | GFLOP/s after | fwd+bwd before | GFLOP/s before | speed-up |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const k of kernelCases(a)) {
    const after = measureCase(k, a.reps);
    let beforeCols = '| - | - | -';
    if (a.naive) {
      swapKernels(true);
      const before = measureCase(k, Math.max(1, Math.min(a.reps, 3)));
      swapKernels(false);
      beforeCols = `| ${before.both.toFixed(0)} | ${gflops(3 * k.flops, before.both)} | ${(before.both / after.both).toFixed(1)}x`;
    }
    console.log(
      `| ${k.name} | ${after.fwd.toFixed(1)} | ${after.both.toFixed(1)} | ${(after.both / after.fwd).toFixed(1)} | ${gflops(3 * k.flops, after.both)} ${beforeCols} |`,
    );
  }
}

async function stepTable(a: Args): Promise<void> {
  const module = fileURLToPath(new URL('../src/runtime/probe-worker.ts', import.meta.url));
  console.log(`\n## Training step: probe stack (${a.blocks} Restormer blocks, MDTA + GDFN), batch ${a.batch}, ${a.size}x${a.size}, micro-batch ${a.micro} per replica`);
  console.log('| dim | params | fwd GFLOP | processes | step s | eff. GFLOP/s | speed-up | peak wasm heap per process |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const dim of a.dims) {
    const cfg: ProbeNetConfig = { dim, heads: 2, blocks: a.blocks, ffnFactor: 2.66, inChannels: 4, outChannels: 3 };
    const weights = initProbeWeights(cfg, 1);
    const params = Object.values(weights).reduce((s, w) => s + w.data.length, 0);
    const px = a.batch * a.size * a.size;
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
    const batch = {
      x: { shape: [a.batch, a.size, a.size, 4], data: new Float32Array(px * 4).map(rnd) },
      target: { shape: [a.batch, a.size, a.size, 3], data: new Float32Array(px * 3).map(rnd) },
    };
    const flops = probeForwardFlops(cfg, a.batch, a.size, a.size);
    let single = 0;
    for (const workers of [0, a.workers]) {
      const trainer = await createParallelTrainer({ workerModule: module, workers, init: cfg, microBatch: a.micro });
      try {
        await trainer.gradients(weights, batch); // warm-up
        const ts: number[] = [];
        let heap = 0;
        for (let r = 0; r < Math.max(1, Math.min(a.reps, 3)); r++) {
          const t0 = performance.now();
          const g = await trainer.gradients(weights, batch);
          ts.push(performance.now() - t0);
          heap = Math.max(heap, ...g.shards.map((s) => s.heapBytes));
        }
        const ms = median(ts);
        if (workers === 0) single = ms;
        const procs = workers === 0 ? '1 (main thread)' : `${workers} workers`;
        const speedup = workers === 0 ? '1.00' : (single / ms).toFixed(2);
        console.log(
          `| ${dim} | ${params} | ${(flops / 1e9).toFixed(2)} | ${procs} | ${(ms / 1000).toFixed(2)} | ${gflops(3 * flops, ms)} | ${speedup} | ${(heap / 2 ** 20).toFixed(0)} MB |`,
        );
      } finally {
        await trainer.close();
      }
    }
  }
}

async function opProfile(a: Args): Promise<void> {
  const { probeLoss, toParams } = await import('../src/runtime/probe-net.js');
  const cfg: ProbeNetConfig = { dim: a.dim, heads: 2, blocks: a.blocks, ffnFactor: 2.66, inChannels: 4, outChannels: 3 };
  const n = Math.min(a.batch, a.micro);
  const p = toParams(initProbeWeights(cfg, 1));
  const names = Object.keys(p);
  const x = tf.randomNormal([n, a.size, a.size, 4]) as tf.Tensor4D;
  const t = tf.randomNormal([n, a.size, a.size, 3]) as tf.Tensor4D;
  const step = () => {
    const r = tf.valueAndGrads((...ts: tf.Tensor[]) => probeLoss(cfg, Object.fromEntries(names.map((k, i) => [k, ts[i]])), x, t))(names.map((k) => p[k]));
    r.grads.forEach((g) => g.dataSync());
    tf.dispose([r.value, ...r.grads]);
  };
  step();
  const prof = await tf.profile(() => {
    step();
    return tf.scalar(0);
  });
  const by = new Map<string, number>();
  for (const k of prof.kernels) by.set(k.name, (by.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  const total = [...by.values()].reduce((s, v) => s + v, 0);
  console.log(`\n## Where a step's time goes (one process, micro-batch of ${n}, dim ${a.dim}; tf.profile kernel times, nested kernels counted in their callers too)`);
  console.log('| kernel | ms | share |');
  console.log('|---|---|---|');
  for (const [k, v] of [...by.entries()].sort((p1, p2) => p2[1] - p1[1]).slice(0, 15)) {
    console.log(`| ${k} | ${v.toFixed(0)} | ${((100 * v) / total).toFixed(0)}% |`);
  }
  tf.dispose([x, t, ...Object.values(p)]);
}

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv);
  const report = await initBackend('wasm');
  for (const name of registerTrainingKernels('wasm')) {
    const k = tf.getKernel(name, 'wasm');
    if (k) fastKernels.set(name, k);
  }
  const load = os.loadavg().map((v) => v.toFixed(2)).join(' ');
  console.log(`# train-kernels: tfjs ${tf.version_core}, backend ${report.backend} (SIMD ${report.simd}, ${report.threads} thread per process), ${os.cpus().length} cores, load average ${load}`);
  if (a.kernels) await kernelTable(a);
  if (a.step) {
    await opProfile(a);
    await stepTable(a);
  }
  console.log(`\nload average at end: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; main-thread wasm heap ${(wasmHeapBytes() / 2 ** 20).toFixed(0)} MB`);
}

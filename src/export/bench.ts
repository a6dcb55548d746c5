import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fuseFiles, fusionMethodNames, registerFusionMethod } from '../fusion/index.js';
import { DEFAULT_WEIGHTS_FILE, onnxBeside, TesgFusion } from '../fusion/tesg-method.js';
import { viChannels } from '../model/config.js';
import { TesgModel } from '../model/model.js';
import { modelCost } from '../model/ops-count.js';
import { tf } from '../model/tfjs.js';
import { initBackend } from '../runtime/backend.js';
import { OnnxModel } from '../runtime/onnx.js';
import { exportWeightsFile } from './export.js';
import { OnnxFuser, type PlanarInputs } from './onnx-fuse.js';
import { OnnxGraphWriter } from './onnx-writer.js';
import { median } from '../util/median.js';

/**
 * `tesg bench` and `npm run bench -- inference`: the network at one size on tfjs-wasm and on
 * onnxruntime (median of warm runs), end-to-end `tesg fuse --method tesg` per pair (image read,
 * SIG default, network, write), the model's GFLOPs (the FLOP counter on the one definition), the
 * achieved GFLOP/s against onnxruntime's own square MatMul measured in the same run, and the
 * process's peak RSS after each stage.
 */
export interface InferenceBenchOptions {
  width?: number;
  height?: number;
  /** Timed runs per measurement (after one warm-up run). */
  runs?: number;
  /** onnxruntime threads; default all cores. */
  threads?: number;
  /** Weights to time; default the shipped ones, else a random-weight default model. */
  weights?: string;
  /** Skip the tfjs-wasm network (slow). */
  skipTfjs?: boolean;
  /** Pairs for the end-to-end fuse: [ir, vi] files; none = skip. */
  pairs?: Array<[string, string]>;
  /** Side of the MatMul used as the practical peak. */
  matmulSize?: number;
  log?: (line: string) => void;
}

export interface Timing {
  medianMs: number;
  runsMs: number[];
}

export interface InferenceBenchResult {
  machine: { cpu: string; cores: number; loadavg1: number; loadavgAtEnd: number };
  model: { weights: string; params: number; gflops: number; width: number; height: number };
  onnx: Timing & { threads: number; gflopsPerS: number };
  /** The same with one onnxruntime thread (null when `threads` is 1). */
  onnx1: (Timing & { gflopsPerS: number }) | null;
  tfjsWasm: (Timing & { gflopsPerS: number }) | null;
  /** tfjs-wasm median / onnx median. */
  speedup: number | null;
  matmul: Timing & { n: number; gflopsPerS: number };
  /** Model GFLOP/s on onnxruntime / MatMul GFLOP/s. */
  fractionOfMatmulPeak: number;
  endToEnd: (Timing & { pairs: number; firstMs: number }) | null;
  /** Process peak RSS (MB) after each stage, cumulative (the OS reports only the peak so far). */
  peakRssMb: Record<string, number>;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

export async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<Timing> {
  await fn(); // warm-up: session/kernels/first allocations
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    runsMs.push(performance.now() - t0);
  }
  return { medianMs: median(runsMs), runsMs };
}

/** A deterministic 0..1 input pair with a mask on a third of the image and a random F_t. */
export function syntheticInputs(w: number, h: number, viCh: number, tokens: number, dim: number): PlanarInputs {
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return {
    width: w,
    height: h,
    ir: Float32Array.from({ length: w * h }, rand),
    vi: Float32Array.from({ length: w * h * viCh }, rand),
    mask: Float32Array.from({ length: w * h }, (_, i) => (i % w < w / 3 ? 1 : 0)),
    text: Float32Array.from({ length: tokens * dim }, () => rand() - 0.5),
  };
}

/** onnxruntime's GFLOP/s on one n x n by n x n MatMul (2 n^3 FLOPs), the practical peak here. */
export async function matmulPeak(dir: string, n: number, threads: number, runs: number): Promise<Timing & { n: number; gflopsPerS: number }> {
  const g = new OnnxGraphWriter();
  const a = g.input('a', [n, n]);
  const b = g.floatInit('b', [n, n], Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
  g.node('MatMul', [a, b], 'c');
  g.output('c', [n, n]);
  const file = path.join(dir, 'matmul.onnx');
  writeFileSync(file, g.toBytes());
  const model = await OnnxModel.load(file, { threads, spinning: false });
  try {
    const feed = { a: { dims: [n, n], data: Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5) } };
    const t = await timeRuns(runs, () => model.run(feed));
    return { ...t, n, gflopsPerS: (2 * n ** 3) / (t.medianMs * 1e6) };
  } finally {
    await model.release();
  }
}

export async function runInferenceBench(o: InferenceBenchOptions = {}): Promise<InferenceBenchResult> {
  const log = o.log ?? (() => {});
  const [w, h] = [o.width ?? 640, o.height ?? 480];
  const runs = o.runs ?? 5;
  const threads = o.threads ?? availableParallelism();
  const loadStart = loadavg()[0];
  const dir = mkdtempSync(path.join(tmpdir(), 'tesg-bench-'));
  const rss: Record<string, number> = { start: peakRssMb() };
  // The tfjs network row runs on the wasm backend (the SIG detector runs on onnxruntime, as in `tesg fuse`).
  await initBackend('wasm');
  try {
    // Weights: the given or shipped file, else a random-weight default model (same cost; timings do not depend on values).
    let weights = o.weights ?? DEFAULT_WEIGHTS_FILE;
    let weightsLabel = weights;
    if (!existsSync(weights)) {
      if (o.weights) throw new Error(`${weights}: not found`);
      weights = path.join(dir, 'tesg.safetensors');
      weightsLabel = 'random weights (default config; no shipped weights found)';
      const m = TesgModel.create({}, 1);
      await m.save(weights);
      m.dispose();
    }
    let onnxFile = onnxBeside(weights);
    if (!existsSync(onnxFile)) {
      onnxFile = path.join(dir, 'tesg.onnx');
      await exportWeightsFile(weights, onnxFile);
    }

    log(`matmul ${o.matmulSize ?? 1024}^2 on onnxruntime (${threads} threads)...`);
    const matmul = await matmulPeak(dir, o.matmulSize ?? 1024, threads, Math.max(runs, 5));
    rss.matmul = peakRssMb();

    log(`network ${w}x${h} on onnxruntime...`);
    const fuser = await OnnxFuser.load(onnxFile, { threads });
    const cfg = fuser.config;
    const cost = modelCost(cfg, w, h);
    const inputs = syntheticInputs(w, h, viChannels(cfg), cfg.text_tokens, cfg.text_dim);
    const onnxT = await timeRuns(runs, () => fuser.runPlanar(inputs));
    await fuser.release();
    rss.onnx = peakRssMb();
    const onnx = { ...onnxT, threads, gflopsPerS: cost.flops / (onnxT.medianMs * 1e6) };
    let onnx1: InferenceBenchResult['onnx1'] = null;
    if (threads !== 1) {
      log(`network ${w}x${h} on onnxruntime, 1 thread...`);
      const single = await OnnxFuser.load(onnxFile, { threads: 1 });
      const t1 = await timeRuns(runs, () => single.runPlanar(inputs));
      await single.release();
      onnx1 = { ...t1, gflopsPerS: cost.flops / (t1.medianMs * 1e6) };
    }

    let endToEnd: InferenceBenchResult['endToEnd'] = null;
    if (o.pairs && o.pairs.length > 0) {
      log(`end-to-end fuse (SIG default + network on onnxruntime + I/O) on ${o.pairs.length} pair(s)...`);
      if (!fusionMethodNames().includes('tesg')) registerFusionMethod(new TesgFusion());
      const benchWeights = path.join(dir, 'e2e', 'tesg.safetensors');
      const { mkdirSync, copyFileSync } = await import('node:fs');
      mkdirSync(path.dirname(benchWeights), { recursive: true });
      copyFileSync(weights, benchWeights);
      copyFileSync(onnxFile, onnxBeside(benchWeights));
      const opts = { method: 'tesg', params: { weights: benchWeights, backend: 'onnx', threads } };
      const fusePair = async (k: number) => {
        const [ir, vi] = o.pairs![k % o.pairs!.length];
        await fuseFiles(ir, vi, path.join(dir, `fused-${k}.png`), opts);
      };
      const t0 = performance.now();
      await fusePair(0);
      const firstMs = performance.now() - t0;
      const runsMs: number[] = [];
      for (let i = 0; i < Math.max(runs, o.pairs.length); i++) {
        const t = performance.now();
        await fusePair(i);
        runsMs.push(performance.now() - t);
      }
      endToEnd = { medianMs: median(runsMs), runsMs, pairs: o.pairs.length, firstMs };
      rss.endToEnd = peakRssMb();
    }

    let tfjsWasm: InferenceBenchResult['tfjsWasm'] = null;
    if (!o.skipTfjs) {
      log(`network ${w}x${h} on tfjs-wasm (1 thread)...`);
      const model = await TesgModel.load(weights);
      const x = (data: Float32Array, c: number) => tf.tensor4d(c === 1 ? data : chwToHwcCopy(data, h, w, c), [1, h, w, c]);
      const feeds = tf.tidy(() => ({
        ir: x(inputs.ir, 1),
        vi: x(inputs.vi, viChannels(cfg)),
        mask: x(inputs.mask, 1),
        text: tf.tensor3d(inputs.text, [1, cfg.text_tokens, cfg.text_dim]),
      }));
      const t = await timeRuns(runs, async () => {
        const y = tf.tidy(() => model.forward(feeds));
        await y.data();
        y.dispose();
      });
      tf.dispose(Object.values(feeds));
      model.dispose();
      tfjsWasm = { ...t, gflopsPerS: cost.flops / (t.medianMs * 1e6) };
      rss.tfjsWasm = peakRssMb();
    }

    return {
      machine: { cpu: cpus()[0]?.model ?? '?', cores: availableParallelism(), loadavg1: loadStart, loadavgAtEnd: loadavg()[0] },
      model: { weights: weightsLabel, params: cost.params, gflops: cost.flops / 1e9, width: w, height: h },
      onnx,
      onnx1,
      tfjsWasm,
      speedup: tfjsWasm ? tfjsWasm.medianMs / onnx.medianMs : null,
      matmul,
      fractionOfMatmulPeak: onnx.gflopsPerS / matmul.gflopsPerS,
      endToEnd,
      peakRssMb: rss,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function chwToHwcCopy(src: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[p * c + k] = src[k * plane + p];
  return out;
}

/** The result as an aligned text table. */
export function formatInferenceBench(r: InferenceBenchResult): string {
  const ms = (t: Timing) => `${t.medianMs.toFixed(0)} ms (runs: ${t.runsMs.map((x) => x.toFixed(0)).join(', ')})`;
  const rows: Array<[string, string]> = [
    ['machine', `${r.machine.cpu}, ${r.machine.cores} cores, load average ${r.machine.loadavg1.toFixed(2)} -> ${r.machine.loadavgAtEnd.toFixed(2)}`],
    ['model', `${r.model.weights}; ${r.model.params} params, ${r.model.gflops.toFixed(2)} GFLOPs at ${r.model.width}x${r.model.height}`],
    [`network, onnxruntime (${r.onnx.threads} thr)`, `${ms(r.onnx)}, ${r.onnx.gflopsPerS.toFixed(2)} GFLOP/s`],
    ['network, onnxruntime (1 thr)', r.onnx1 ? `${ms(r.onnx1)}, ${r.onnx1.gflopsPerS.toFixed(2)} GFLOP/s` : '-'],
    ['network, tfjs-wasm (1 thr)', r.tfjsWasm ? `${ms(r.tfjsWasm)}, ${r.tfjsWasm.gflopsPerS.toFixed(2)} GFLOP/s` : 'skipped'],
    ['speed-up onnx vs tfjs-wasm', r.speedup ? `${r.speedup.toFixed(2)}x` : '-'],
    [`matmul ${r.matmul.n}^2, onnxruntime`, `${ms(r.matmul)}, ${r.matmul.gflopsPerS.toFixed(1)} GFLOP/s (practical peak)`],
    ['network / matmul peak', `${(100 * r.fractionOfMatmulPeak).toFixed(1)} %`],
    [
      'end-to-end fuse per pair',
      r.endToEnd ? `${ms(r.endToEnd)} over ${r.endToEnd.pairs} pair(s); first (cold) ${r.endToEnd.firstMs.toFixed(0)} ms` : 'skipped',
    ],
    ['peak RSS after stage (MB)', Object.entries(r.peakRssMb).map(([k, v]) => `${k} ${v}`).join(', ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

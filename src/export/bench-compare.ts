import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { sizeMultiple, validateModelConfig } from '../model/config.js';
import type { ModelConfig } from '../model/config.js';
import { readTensorFile } from '../model/safetensors.js';
import { CONFIG_KEY, TesgModel } from '../model/model.js';
import { modelCost } from '../model/ops-count.js';
import { MODEL_PRESETS, modelPreset } from '../model/presets.js';
import { initBackend } from '../runtime/backend.js';
import type { CompareChildResult, CompareJob } from './bench-compare-child.js';
import { exportWeightsFile } from './export.js';

/**
 * `tesg bench --compare v1,u2-a,FILE,...`: several models side by side in one run, so the ratios
 * come from the same machine state. Each entry is a preset (src/model/presets.ts: random weights
 * of that config; timings do not depend on values) or a weights file. Per model and size: the
 * network alone on onnxruntime (median of warm runs, synthetic inputs, padded to the size multiple,
 * tiled as `tesg fuse` tiles), each in its own child process so its peak RSS is its own; the
 * model's GFLOPs (CountOps on the one definition), its GFLOP/s as a share of onnxruntime's square
 * MatMul (the practical peak, measured in the same run), and the speed-up against the first entry.
 */
export interface CompareOptions {
  models: string[];
  /** [width, height] pairs; default 640x480 and 1280x1024. */
  sizes?: Array<[number, number]>;
  threads?: number;
  runs?: number;
  /** 'auto' (as `tesg fuse`: whole image up to autoTilePixels(config)) or 0 = always whole. */
  tile?: number | 'auto';
  matmulSize?: number;
  log?: (line: string) => void;
}

export interface CompareRow {
  model: string;
  params: number;
  gflops640: number;
  bySize: Array<{ width: number; height: number; gflops: number; run: CompareChildResult; speedup: number; fractionOfPeak: number }>;
}

export interface CompareResult {
  machine: { cpu: string; loadavgStart: number; loadavgEnd: number; threads: number; runs: number };
  matmul: CompareChildResult & { n: number };
  rows: CompareRow[];
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench-compare-child');

function runChild(job: CompareJob): Promise<CompareChildResult> {
  // from dist/ the .js; from source (tsx, whose loader the child inherits through execArgv) the .ts
  const file = existsSync(`${CHILD}.js`) ? `${CHILD}.js` : `${CHILD}.ts`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, file, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`bench child (${job.kind}) exited ${code}: ${err.slice(-800)}`));
      else resolve(JSON.parse(line) as CompareChildResult);
    });
  });
}

/** The ONNX file and config of one --compare entry (a preset name or a weights file). */
async function prepare(entry: string, dir: string, index: number): Promise<{ onnx: string; config: ModelConfig }> {
  let weights = entry;
  if (entry in MODEL_PRESETS) {
    weights = path.join(dir, `${index}-${entry}.safetensors`);
    const m = TesgModel.create(modelPreset(entry), 1);
    await m.save(weights);
    m.dispose();
  } else if (!existsSync(entry)) {
    throw new InputError(entry, `not a preset (${Object.keys(MODEL_PRESETS).join(', ')}) and no such weights file`);
  } else {
    const raw = (await readTensorFile(entry)).metadata[CONFIG_KEY];
    if (!raw) throw new InputError(entry, `no '${CONFIG_KEY}' in the metadata: not a tesg weights file`);
  }
  const onnx = path.join(dir, `${index}.onnx`);
  const r = await exportWeightsFile(weights, onnx);
  return { onnx, config: validateModelConfig(r.config as unknown as Record<string, unknown>) };
}

export async function runCompareBench(o: CompareOptions): Promise<CompareResult> {
  const log = o.log ?? (() => {});
  const sizes = o.sizes ?? [[640, 480], [1280, 1024]];
  const threads = o.threads ?? 2;
  const runs = o.runs ?? 3;
  const loadStart = loadavg()[0];
  const dir = mkdtempSync(path.join(tmpdir(), 'tesg-bench-compare-'));
  await initBackend('wasm');
  try {
    const models = [];
    for (const [i, m] of o.models.entries()) models.push({ name: m, ...(await prepare(m, dir, i)) });
    const n = o.matmulSize ?? 1024;
    log(`matmul ${n}^2 on onnxruntime (${threads} threads)...`);
    const matmul = { ...(await runChild({ kind: 'matmul', n, threads, runs: Math.max(runs, 5) })), n };
    const rows: CompareRow[] = models.map((m) => {
      const c = modelCost(m.config, 640, 480);
      return { model: m.name, params: c.params, gflops640: c.flops / 1e9, bySize: [] };
    });
    for (const [w, h] of sizes) {
      for (const [i, m] of models.entries()) {
        log(`${m.name}: network ${w}x${h} on onnxruntime (${threads} threads, ${runs} runs)...`);
        const run = await runChild({ kind: 'net', onnx: m.onnx, width: w, height: h, threads, runs, tile: o.tile ?? 'auto' });
        const k = sizeMultiple(m.config); // the network runs on the padded image
        const gflops = modelCost(m.config, Math.ceil(w / k) * k, Math.ceil(h / k) * k).flops / 1e9;
        const first = rows[0].bySize.find((b) => b.width === w && b.height === h)?.run.medianMs ?? run.medianMs;
        const gflopsPerS = gflops / (run.medianMs / 1000);
        rows[i].bySize.push({ width: w, height: h, gflops, run, speedup: first / run.medianMs, fractionOfPeak: gflopsPerS / matmul.gflopsPerS! });
      }
    }
    return { machine: { cpu: cpus()[0]?.model ?? '?', loadavgStart: loadStart, loadavgEnd: loadavg()[0], threads, runs }, matmul, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A markdown table: one row per model, columns per size. */
export function formatCompareBench(r: CompareResult): string {
  const sizes = r.rows[0]?.bySize.map((b) => `${b.width}x${b.height}`) ?? [];
  const head = ['model', 'params', 'GFLOPs 640x480', ...sizes.flatMap((s) => [`${s} ms`, `vs ${r.rows[0].model}`, '% of matmul peak', 'peak RSS MB'])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of r.rows) {
    const cells = row.bySize.flatMap((b) => [
      `${b.run.medianMs.toFixed(0)}${b.run.tile ? ` (tiles ${b.run.tile})` : ''}`,
      `${b.speedup.toFixed(2)}x`,
      `${(100 * b.fractionOfPeak).toFixed(1)}`,
      `${b.run.peakRssMb}`,
    ]);
    lines.push(`| ${row.model} | ${row.params.toLocaleString('en-US')} | ${row.gflops640.toFixed(2)} | ${cells.join(' | ')} |`);
  }
  return (
    `onnxruntime, ${r.machine.threads} threads, median of ${r.machine.runs} warm runs; ${r.machine.cpu}; load average ${r.machine.loadavgStart.toFixed(2)} -> ${r.machine.loadavgEnd.toFixed(2)}\n` +
    `matmul ${r.matmul.n}^2 (practical peak): ${r.matmul.medianMs.toFixed(1)} ms, ${r.matmul.gflopsPerS!.toFixed(1)} GFLOP/s\n\n` +
    lines.join('\n') +
    '\n'
  );
}

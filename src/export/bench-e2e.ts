/**
 * End-to-end speed of several weights files side by side (`tesg bench --e2e-compare A,B --pair IR,VI`):
 * whole-process `tesg fuse IR VI -o OUT --weights W` runs, the way a user runs the README command
 * (node start, image read, the SIG the weights were trained with, the network on ONNX Runtime, write).
 * Runs are interleaved round-robin (A, B, A, B, ...) so a change in the machine's load hits every
 * model alike; each model gets one untimed warm-up run per pair (file cache). Reports the median wall
 * and CPU seconds per model and pair, and each model's speed-up against the first one, with a 95 %
 * bootstrap interval: the run indices are drawn with replacement (run i of every model is one
 * round, close in time, so a draw keeps rounds whole) and the ratio of medians recomputed per draw.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { percentileInterval, resampleIndices } from '../eval/paired.js';
import { runColdStartBench } from './bench-cold.js';
import { median } from '../util/median.js';

export interface E2eCompareOptions {
  /** Weights files (safetensors with an .onnx beside, as `tesg fuse --weights` takes). */
  models: string[];
  /** Image pairs to fuse, each [ir, vi]. */
  pairs: Array<[string, string]>;
  /** Timed runs per model and pair (default 5). */
  runs?: number;
  /** Extra `tesg fuse` arguments for every run (e.g. ['--threads', '2']). */
  args?: string[];
  log?: (line: string) => void;
}

export interface E2eCell {
  model: string;
  pair: string;
  /** Per timed run: wall ms from spawn to exit, and process CPU ms. */
  wallMs: number[];
  cpuMs: number[];
  medianWallMs: number;
  medianCpuMs: number;
  /** Median wall of the first model on this pair / this model's (> 1: faster than the first). */
  speedup: number;
  /** 95 % bootstrap interval of `speedup` over the rounds of runs (see the file's comment). */
  speedupLo: number;
  speedupHi: number;
}

export interface E2eCompareResult {
  runs: number;
  cells: E2eCell[];
  loadavg: { start: number; end: number };
}


/**
 * The speed-up base/model (ratio of median wall times) and its 95 % percentile bootstrap interval:
 * `resamples` draws of the round indices with replacement (seed 1), the same rounds for both.
 * Inputs: wall ms per round, same length >= 1.
 */
export function speedupInterval(base: number[], model: number[], resamples = 2000): { speedup: number; lo: number; hi: number } {
  const ratios = new Float64Array(resamples);
  let r = 0;
  for (const idx of resampleIndices(base.length, resamples, 1)) {
    ratios[r++] = median(Array.from(idx, (i) => base[i])) / median(Array.from(idx, (i) => model[i]));
  }
  return { speedup: median(base) / median(model), ...percentileInterval(ratios, 0.95) };
}

/**
 * Time `tesg fuse` end to end for each model on each pair (see the file's comment).
 * Wall times in ms from spawn to exit; CPU is the child's process CPU (all threads) at its exit mark.
 * @throws Error when a run exits non-zero (its last stderr line quoted).
 */
export async function runE2eCompare(o: E2eCompareOptions): Promise<E2eCompareResult> {
  const runs = o.runs ?? 5;
  const start = loadavg()[0];
  const cells: E2eCell[] = [];
  for (const pair of o.pairs) {
    const name = path.basename(pair[0]);
    const times = o.models.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
    for (let r = -1; r < runs; r++) {
      for (let m = 0; m < o.models.length; m++) {
        const one = await runColdStartBench({ pair, runs: 1, args: ['--weights', o.models[m], ...(o.args ?? [])] });
        if (r < 0) continue; // warm-up
        times[m].wall.push(one.wallMs[0]);
        times[m].cpu.push(one.cpuMs[0]);
        o.log?.(`${name} ${path.basename(o.models[m])} run ${r + 1}/${runs}: ${(one.wallMs[0] / 1000).toFixed(2)} s`);
      }
    }
    o.models.forEach((model, m) => {
      const { speedup, lo, hi } = speedupInterval(times[0].wall, times[m].wall);
      cells.push({ model, pair: name, wallMs: times[m].wall, cpuMs: times[m].cpu, medianWallMs: median(times[m].wall), medianCpuMs: median(times[m].cpu), speedup, speedupLo: lo, speedupHi: hi });
    });
  }
  return { runs, cells, loadavg: { start, end: loadavg()[0] } };
}

/** The result as an aligned text table. */
export function formatE2eCompare(r: E2eCompareResult): string {
  const lines = [`end to end, whole-process tesg fuse IR VI -o OUT --weights W, median of ${r.runs} interleaved runs; load average ${r.loadavg.start.toFixed(2)} -> ${r.loadavg.end.toFixed(2)}`];
  const mw = Math.max(...r.cells.map((c) => c.model.length), 5);
  const pw = Math.max(...r.cells.map((c) => c.pair.length), 4);
  lines.push(`  ${'pair'.padEnd(pw)}  ${'model'.padEnd(mw)}  ${'wall s'.padStart(7)}  ${'CPU s'.padStart(7)}  speed-up vs first [95 % interval over the rounds]`);
  for (const c of r.cells) {
    lines.push(`  ${c.pair.padEnd(pw)}  ${c.model.padEnd(mw)}  ${(c.medianWallMs / 1000).toFixed(2).padStart(7)}  ${(c.medianCpuMs / 1000).toFixed(2).padStart(7)}  ${c.speedup.toFixed(2)}x [${c.speedupLo.toFixed(2)}, ${c.speedupHi.toFixed(2)}]`);
  }
  return lines.join('\n') + '\n';
}

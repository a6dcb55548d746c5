/**
 * End-to-end speed of several weights files side by side (`tesg bench --e2e-compare A,B --pair IR,VI`):
 * whole-process `tesg fuse IR VI -o OUT --weights W` runs, the way a user runs the README command
 * (node start, image read, the SIG the weights were trained with, the network on ONNX Runtime, write).
 * Runs are interleaved round-robin (A, B, A, B, ...) so a change in the machine's load hits every
 * model alike; each model gets one untimed warm-up run per pair (file cache). Reports the median wall
 * and CPU seconds per model and pair, and each model's speed-up against the first one.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { runColdStartBench } from './bench-cold.js';

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
}

export interface E2eCompareResult {
  runs: number;
  cells: E2eCell[];
  loadavg: { start: number; end: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
    const base = median(times[0].wall);
    o.models.forEach((model, m) => {
      const w = median(times[m].wall);
      cells.push({ model, pair: name, wallMs: times[m].wall, cpuMs: times[m].cpu, medianWallMs: w, medianCpuMs: median(times[m].cpu), speedup: base / w });
    });
  }
  return { runs, cells, loadavg: { start, end: loadavg()[0] } };
}

/** The result as an aligned text table. */
export function formatE2eCompare(r: E2eCompareResult): string {
  const lines = [`end to end, whole-process tesg fuse IR VI -o OUT --weights W, median of ${r.runs} interleaved runs; load average ${r.loadavg.start.toFixed(2)} -> ${r.loadavg.end.toFixed(2)}`];
  const mw = Math.max(...r.cells.map((c) => c.model.length), 5);
  const pw = Math.max(...r.cells.map((c) => c.pair.length), 4);
  lines.push(`  ${'pair'.padEnd(pw)}  ${'model'.padEnd(mw)}  ${'wall s'.padStart(7)}  ${'CPU s'.padStart(7)}  speed-up vs first`);
  for (const c of r.cells) {
    lines.push(`  ${c.pair.padEnd(pw)}  ${c.model.padEnd(mw)}  ${(c.medianWallMs / 1000).toFixed(2).padStart(7)}  ${(c.medianCpuMs / 1000).toFixed(2).padStart(7)}  ${c.speedup.toFixed(2)}x`);
  }
  return lines.join('\n') + '\n';
}

/**
 * One measurement of `tesg bench --compare` (./bench-compare.ts) in its own process, so its peak
 * RSS is its own: argv[2] is a JSON job, the last stdout line the JSON result.
 *   { kind: 'matmul', n, threads, runs }  -> onnxruntime's n x n MatMul (the practical peak)
 *   { kind: 'net', onnx, width, height, threads, runs } -> the exported network on synthetic
 *     inputs through OnnxFuser.runNetwork (padding to the size multiple, auto tiling as `tesg fuse`)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { viChannels } from '../model/config.js';
import { matmulPeak, syntheticInputs, timeRuns } from './bench.js';
import { autoTilePixels, DEFAULT_TILE, OnnxFuser } from './onnx-fuse.js';

export type CompareJob =
  | { kind: 'matmul'; n: number; threads: number; runs: number }
  | { kind: 'net'; onnx: string; width: number; height: number; threads: number; runs: number; tile: number | 'auto' };

export interface CompareChildResult {
  medianMs: number;
  runsMs: number[];
  gflopsPerS?: number;
  /** The whole image ran in tiles of this size (0: one run). */
  tile?: number;
  /** RSS before loading the model, and the process's peak, MB. */
  baseRssMb: number;
  peakRssMb: number;
}

const rssMb = () => Math.round(process.memoryUsage().rss / 1024 / 1024);
const peakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function main(job: CompareJob): Promise<CompareChildResult> {
  const baseRssMb = rssMb();
  if (job.kind === 'matmul') {
    const dir = mkdtempSync(path.join(tmpdir(), 'tesg-bench-mm-'));
    try {
      const t = await matmulPeak(dir, job.n, job.threads, job.runs);
      return { medianMs: t.medianMs, runsMs: t.runsMs, gflopsPerS: t.gflopsPerS, baseRssMb, peakRssMb: peakMb() };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const fuser = await OnnxFuser.load(job.onnx, { threads: job.threads });
  const c = fuser.config;
  const inputs = syntheticInputs(job.width, job.height, viChannels(c), c.text_tokens, c.text_dim);
  const t = await timeRuns(job.runs, () => fuser.runNetwork(inputs, { tile: job.tile }));
  await fuser.release();
  const tile = job.tile === 'auto' ? (job.width * job.height > autoTilePixels(c) ? DEFAULT_TILE : 0) : job.tile;
  return { medianMs: t.medianMs, runsMs: t.runsMs, tile, baseRssMb, peakRssMb: peakMb() };
}

main(JSON.parse(process.argv[2]) as CompareJob).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

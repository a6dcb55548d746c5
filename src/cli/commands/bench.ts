import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../errors.js';

/**
 * `tesg bench`: inference speed of the network on onnxruntime vs tfjs-wasm, end-to-end fuse,
 * GFLOP/s against onnxruntime's own MatMul peak, peak memory (src/export/bench.ts; the same code
 * runs as `npm run bench -- inference`).
 */
interface BenchCliOptions {
  size: string;
  runs: string;
  threads?: string;
  weights?: string;
  tfjs: boolean;
  e2e: boolean;
  json?: boolean;
}

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'samples', 'msrs');

/** The bundled sample pairs (samples/msrs/{ir,vi}/<stem>.png) that exist. */
export function samplePairs(): Array<[string, string]> {
  return ['00537D', '01102N']
    .map((s): [string, string] => [path.join(SAMPLES, 'ir', `${s}.png`), path.join(SAMPLES, 'vi', `${s}.png`)])
    .filter(([ir, vi]) => existsSync(ir) && existsSync(vi));
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

export async function runBenchCli(o: BenchCliOptions): Promise<void> {
  const m = /^(\d+)x(\d+)$/.exec(o.size);
  if (!m) throw new UsageError(`--size must be WIDTHxHEIGHT, e.g. 640x480, got '${o.size}'`);
  const { runInferenceBench, formatInferenceBench } = await import('../../export/bench.js');
  const result = await runInferenceBench({
    width: Number(m[1]),
    height: Number(m[2]),
    runs: positiveInt('runs', o.runs),
    threads: o.threads === undefined ? undefined : positiveInt('threads', o.threads),
    weights: o.weights,
    skipTfjs: !o.tfjs,
    pairs: o.e2e ? samplePairs() : [],
    log: o.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : formatInferenceBench(result));
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('time the network on onnxruntime and tfjs-wasm, end-to-end fuse, GFLOP/s vs the matmul peak, peak memory')
    .option('--size <WxH>', 'image size for the network timings', '640x480')
    .option('--runs <n>', 'timed runs per measurement (after one warm-up; the median is reported)', '5')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)')
    .option('--weights <file>', 'weights to time (default: the shipped ones, else random weights of the default config)')
    .option('--no-tfjs', 'skip the tfjs-wasm network timing (the slow part)')
    .option('--no-e2e', 'skip the end-to-end fuse of the bundled sample pairs')
    .option('--json', 'print the result as JSON')
    .action(async (opts: BenchCliOptions) => runBenchCli(opts));
}

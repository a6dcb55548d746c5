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
  compare?: string;
  sizes?: string;
  tile?: string;
  cold: string;
  coldOnly?: boolean;
  e2eCompare?: string;
  pair: string[];
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

function parseSize(flag: string, v: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--${flag} must be WIDTHxHEIGHT, e.g. 640x480, got '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

/** `--compare v1,u2-a,FILE`: models side by side (src/export/bench-compare.ts). */
async function runCompareCli(o: BenchCliOptions): Promise<void> {
  const models = o.compare!.split(',').map((x) => x.trim()).filter(Boolean);
  if (models.length === 0) throw new UsageError('--compare needs a comma-separated list of presets or weights files, e.g. v1,u2-a,u2-b');
  if (o.tile !== undefined && o.tile !== 'auto' && o.tile !== '0') throw new UsageError(`--tile must be auto or 0 (whole image), got '${o.tile}'`);
  const { runCompareBench, formatCompareBench } = await import('../../export/bench-compare.js');
  const result = await runCompareBench({
    models,
    sizes: o.sizes === undefined ? undefined : o.sizes.split(',').map((s) => parseSize('sizes', s.trim())),
    threads: o.threads === undefined ? 2 : positiveInt('threads', o.threads),
    runs: positiveInt('runs', o.runs),
    tile: o.tile === '0' ? 0 : 'auto',
    log: o.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : formatCompareBench(result));
}

/** `tesg fuse` of README's pair as whole processes (src/export/bench-cold.ts); null when --cold 0. */
async function runColdCli(o: BenchCliOptions): Promise<{ text: string; result: unknown } | null> {
  const runs = o.cold === '0' ? 0 : positiveInt('cold', o.cold);
  const pair = samplePairs().find(([ir]) => ir.endsWith('01102N.png'));
  if (runs === 0 || !pair) return null;
  const { runColdStartBench, formatColdStart } = await import('../../export/bench-cold.js');
  if (!o.json) process.stderr.write(`cold start: ${runs} whole-process runs of tesg fuse...\n`);
  // --weights: the cold start of `tesg fuse ... --weights W` (e.g. tesg-v2's), else README's command as is
  const result = await runColdStartBench({ pair, runs, args: o.weights ? ['--weights', o.weights] : [] });
  return { text: formatColdStart(result), result };
}

/** `--e2e-compare A,B [--pair IR,VI ...]`: whole-process tesg fuse per weights file (src/export/bench-e2e.ts). */
async function runE2eCli(o: BenchCliOptions): Promise<void> {
  const models = o.e2eCompare!.split(',').map((x) => x.trim()).filter(Boolean);
  if (models.length === 0) throw new UsageError('--e2e-compare needs a comma-separated list of weights files, e.g. weights/tesg.safetensors,weights/tesg-v2/tesg.safetensors');
  const { onnxBeside } = await import('../../fusion/tesg-method.js');
  for (const m of models) {
    if (!existsSync(m)) throw new UsageError(`--e2e-compare: ${m} does not exist (give weights files, each with its .onnx beside)`);
    // every row on ONNX Runtime: without the .onnx, tesg fuse would quietly run tfjs and the ratio would compare backends
    if (!existsSync(onnxBeside(m))) throw new UsageError(`--e2e-compare: ${onnxBeside(m)} does not exist: run tesg export --weights ${m} first`);
  }
  const pairs = o.pair.length > 0
    ? o.pair.map((p): [string, string] => {
      const [ir, vi, extra] = p.split(',');
      if (!ir || !vi || extra !== undefined) throw new UsageError(`--pair expects IR,VI (two image files), got '${p}'`);
      for (const f of [ir, vi]) if (!existsSync(f)) throw new UsageError(`--pair: ${f} does not exist`);
      return [ir, vi];
    })
    : samplePairs().filter(([ir]) => ir.endsWith('01102N.png'));
  if (pairs.length === 0) throw new UsageError('--e2e-compare: no pair to fuse (the bundled samples/msrs pair is missing): give --pair IR,VI');
  const { runE2eCompare, formatE2eCompare } = await import('../../export/bench-e2e.js');
  const result = await runE2eCompare({ models, pairs, runs: positiveInt('runs', o.runs), args: ['--backend', 'onnx'], log: o.json ? undefined : (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : formatE2eCompare(result));
}

export async function runBenchCli(o: BenchCliOptions): Promise<void> {
  if (o.compare !== undefined) return runCompareCli(o);
  if (o.e2eCompare !== undefined) return runE2eCli(o);
  const m = /^(\d+)x(\d+)$/.exec(o.size);
  if (!m) throw new UsageError(`--size must be WIDTHxHEIGHT, e.g. 640x480, got '${o.size}'`);
  // First, while this process has loaded nothing heavy: whole-process runs are what a user waits for.
  const cold = await runColdCli(o);
  if (o.coldOnly) {
    if (!cold) throw new UsageError('--cold-only needs --cold N >= 1 and the bundled samples/msrs pair');
    process.stdout.write(o.json ? `${JSON.stringify({ coldStart: cold.result }, null, 2)}\n` : cold.text);
    return;
  }
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
  process.stdout.write(o.json ? `${JSON.stringify({ ...result, coldStart: cold?.result ?? null }, null, 2)}\n` : `${cold?.text ?? ''}${formatInferenceBench(result)}`);
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('time a cold `tesg fuse` (whole process, per phase), the network on onnxruntime and tfjs-wasm, end-to-end fuse, GFLOP/s vs the matmul peak, peak memory')
    .option('--size <WxH>', 'image size for the network timings', '640x480')
    .option('--runs <n>', 'timed runs per measurement (after one warm-up; the median is reported)', '5')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)')
    .option('--weights <file>', 'weights to time (default: the shipped ones, else random weights of the default config)')
    .option('--no-tfjs', 'skip the tfjs-wasm network timing (the slow part)')
    .option('--no-e2e', 'skip the end-to-end fuse of the bundled sample pairs')
    .option('--json', 'print the result as JSON')
    .option('--cold <n>', 'whole-process runs of `tesg fuse` on the bundled 01102N pair (with --weights W: `--weights W` added): median time and where start-up goes, per phase (0 = skip)', '5')
    .option('--cold-only', 'only the cold-start runs')
    .option('--compare <list>', 'time several models side by side instead: presets (v1, u2-a, ...; random weights) and/or weights files, e.g. v1,u2-a,u2-b; network only, onnxruntime, --threads default 2')
    .option('--e2e-compare <list>', 'end to end instead: whole-process `tesg fuse IR VI -o OUT --weights W` per weights file, interleaved, median wall/CPU and speed-up vs the first (e.g. weights/tesg.safetensors,weights/tesg-v2/tesg.safetensors)')
    .option('--pair <ir,vi>', 'with --e2e-compare: an image pair to fuse (repeat; default the bundled 01102N pair)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--sizes <list>', 'with --compare: image sizes (default 640x480,1280x1024)')
    .option('--tile <mode>', 'with --compare: auto (tile large images as tesg fuse does, default) | 0 (whole image)')
    .action(async (opts: BenchCliOptions) => runBenchCli(opts));
}

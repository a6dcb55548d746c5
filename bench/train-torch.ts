/**
 * `npm run bench -- train-torch [--preset NAME] [--dim N] [--batch 8] [--crop 96] [--steps 3] [--threads 1,2] [--profile]
 *   [--wasm-steps 1] [--micro 2]`: one full training step (forward, fusion loss, backward, AdamW) of
 * the network config at batch 8, 96x96, on libtorch with 1 and 2 threads and on tfjs-wasm, each in
 * its own child process (clean peak RSS). Prints median wall and CPU seconds per step, effective
 * GFLOP/s (3 x forward FLOPs of src/model/ops-count.ts per step, by wall and by CPU time) and peak
 * RSS, with the load average: the machine is shared, so CPU-time figures are the stable ones.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../src/model/config.js';
import { validateModelConfig, viChannels } from '../src/model/config.js';
import { modelCost } from '../src/model/ops-count.js';
import { modelPreset } from '../src/model/presets.js';
import type { Batch } from '../src/training/data.js';
import { DEFAULT_LOSS_WEIGHTS } from '../src/training/losses.js';

interface Args {
  dim?: number;
  /** A model preset (src/model/presets.ts); --dim overrides its dim. */
  preset?: string;
  batch: number;
  crop: number;
  steps: number;
  threads: number[];
  wasmSteps: number;
  micro: number;
  profile: boolean;
  child?: string;
}

function parse(argv: string[]): Args {
  const a: Args = { batch: 8, crop: 96, steps: 3, threads: [1, 2], wasmSteps: 1, micro: 2, profile: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--profile') {
      a.profile = true;
      i--;
    } else if (k === '--dim') a.dim = Number(v);
    else if (k === '--preset') a.preset = v;
    else if (k === '--batch') a.batch = Number(v);
    else if (k === '--crop') a.crop = Number(v);
    else if (k === '--steps') a.steps = Number(v);
    else if (k === '--threads') a.threads = v.split(',').map(Number);
    else if (k === '--wasm-steps') a.wasmSteps = Number(v);
    else if (k === '--micro') a.micro = Number(v);
    else if (k === '--child') a.child = v;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

function config(a: Args): ModelConfig {
  const base = a.preset === undefined ? {} : modelPreset(a.preset);
  return validateModelConfig(a.dim === undefined ? base : { ...base, dim: a.dim });
}

/** A deterministic batch of random images, a blob mask and a random F_t. */
function syntheticBatch(cfg: ModelConfig, n: number, crop: number): Batch {
  let s = 12345;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const px = n * crop * crop;
  const mask = new Float32Array(px);
  for (let i = 0; i < px; i++) {
    const x = i % crop;
    const y = Math.floor(i / crop) % crop;
    mask[i] = (x - crop / 2) ** 2 + (y - crop / 3) ** 2 < (crop / 5) ** 2 ? 1 : 0;
  }
  return {
    size: n,
    crop,
    ir: Float32Array.from({ length: px }, r),
    vi: Float32Array.from({ length: px * 3 }, r),
    mask,
    text: Float32Array.from({ length: n * cfg.text_tokens * cfg.text_dim }, () => r() - 0.5),
    textEncoderId: cfg.text_encoder,
    stems: Array.from({ length: n }, (_, i) => `b${i}`),
  } as Batch;
}

interface ChildResult {
  variant: string;
  wall: number[];
  cpu: number[];
  maxRssMB: number;
  loss: number;
}

async function child(a: Args): Promise<void> {
  const cfg = config(a);
  const batch = syntheticBatch(cfg, a.batch, a.crop);
  const [kind, threads] = a.child!.split(':');
  const wall: number[] = [];
  const cpu: number[] = [];
  let loss = NaN;
  const timed = async (n: number, fn: () => Promise<number> | number) => {
    for (let i = 0; i <= n; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      loss = await fn();
      const dc = process.cpuUsage(c0);
      if (i === 0) continue; // warm-up
      wall.push((performance.now() - t0) / 1000);
      cpu.push((dc.user + dc.system) / 1e6);
    }
  };
  if (kind === 'torch') {
    const { TorchTrainStep } = await import('../src/training/torch-step.js');
    const { DEFAULT_ADAMW } = await import('../src/training/adamw.js');
    const step = TorchTrainStep.createNew(cfg, 0, DEFAULT_ADAMW, Number(threads));
    if (process.env.TESG_BLAS_THREADS) (await import('../src/runtime/torch.js')).loadTorch().setNumThreads(Number(threads), Number(process.env.TESG_BLAS_THREADS));
    const once = () => {
      const g = step.gradients(batch, DEFAULT_LOSS_WEIGHTS);
      step.update();
      return g.losses.total;
    };
    await timed(a.steps, once);
    if (a.profile && threads === '1') {
      const { loadTorch } = await import('../src/runtime/torch.js');
      const t = loadTorch();
      t.profileStart();
      once();
      const stats = Object.entries(t.profileStop()).sort((x, y) => y[1].selfMs - x[1].selfMs);
      const all = stats.reduce((s, [, v]) => s + v.selfMs, 0);
      process.stderr.write(`\nwhere one libtorch step's time goes (1 thread, self time, profiled step ${all.toFixed(0)} ms):\n`);
      for (const [name, v] of stats.slice(0, 25)) {
        process.stderr.write(`  ${name.padEnd(48)} ${v.selfMs.toFixed(1).padStart(8)} ms ${((100 * v.selfMs) / all).toFixed(1).padStart(5)}%  ${v.calls} calls\n`);
      }
    }
  } else if (kind === 'trainer') {
    // the `tesg train --backend torch` path: libtorch gradients (threads 1, R replicas), tfjs AdamW
    const { initBackend } = await import('../src/runtime/backend.js');
    const { TesgModel } = await import('../src/model/model.js');
    const { AdamW, DEFAULT_ADAMW } = await import('../src/training/adamw.js');
    const { torchGradients } = await import('../src/training/torch-gradients.js');
    const { tf } = await import('../src/model/tfjs.js');
    await initBackend('wasm');
    const model = TesgModel.create(cfg, 0);
    const adam = new AdamW({ ...DEFAULT_ADAMW });
    const gradients = torchGradients({ replicas: Number(threads), threads: 1 });
    await timed(a.steps, async () => {
      const g = await gradients(model, batch, DEFAULT_LOSS_WEIGHTS);
      adam.step(model.params.vars, g.grads);
      tf.dispose([...g.grads.values()]);
      return g.losses.total;
    });
  } else {
    const { initBackend } = await import('../src/runtime/backend.js');
    const { TesgModel } = await import('../src/model/model.js');
    const { AdamW, DEFAULT_ADAMW } = await import('../src/training/adamw.js');
    const { accumulatedGradients, localGradients } = await import('../src/training/trainer.js');
    const { tf } = await import('../src/model/tfjs.js');
    await initBackend('wasm');
    const model = TesgModel.create(cfg, 0);
    const adam = new AdamW({ ...DEFAULT_ADAMW });
    await timed(a.wasmSteps, async () => {
      const g = await accumulatedGradients(localGradients, model, batch, DEFAULT_LOSS_WEIGHTS, a.micro);
      adam.step(model.params.vars, g.grads);
      tf.dispose([...g.grads.values()]);
      return g.losses.total;
    });
  }
  const res: ChildResult = { variant: a.child!, wall, cpu, maxRssMB: process.resourceUsage().maxRSS / 1024, loss };
  process.stdout.write(JSON.stringify(res) + '\n');
}

function runChild(argv: string[], variant: string): Promise<ChildResult> {
  const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', main, 'train-torch', ...argv, '--child', variant], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${variant}: child exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

function label(v: string, a: Args): string {
  const [kind, n] = v.split(':');
  if (kind === 'wasm') return `tfjs-wasm (1 thread, micro-batch ${a.micro})`;
  if (kind === 'trainer') return `libtorch via the trainer: ${n} replicas x 1 thread, tfjs AdamW`;
  return `libtorch, ${n} thread(s), C++ AdamW`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(argv: string[]): Promise<void> {
  const a = parse(argv);
  if (a.child) return child(a);
  const cfg = config(a);
  const cost = modelCost(cfg, a.crop, a.crop, a.batch);
  const stepGflop = (3 * cost.flops) / 1e9;
  const { torchUnavailableReason } = await import('../src/runtime/torch.js');
  const noTorch = torchUnavailableReason();
  process.stdout.write(
    `training step: ${a.preset ? `preset ${a.preset}, ` : ''}dim ${cfg.dim}${cfg.level_dims.length ? ` + levels ${cfg.level_dims.join('/')}` : ''}, heads ${cfg.heads}, blocks ${cfg.enc_blocks}+${cfg.enc_blocks}/${cfg.dec_blocks}, ` +
      `${cost.params} params, vi ${viChannels(cfg)} ch; batch ${a.batch} at ${a.crop}x${a.crop}; ` +
      `forward ${(cost.flops / 1e9).toFixed(2)} GFLOP, step = 3 x forward = ${stepGflop.toFixed(2)} GFLOP\n` +
      `load average before: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores\n\n`,
  );
  const variants: string[] = [];
  if (noTorch) process.stdout.write(`libtorch skipped: ${noTorch}\n`);
  else {
    for (const t of a.threads) variants.push(`torch:${t}`);
    variants.push('trainer:2');
  }
  if (a.wasmSteps > 0) variants.push('wasm:1');
  const rows: string[] = [];
  const results: ChildResult[] = [];
  for (const v of variants) {
    const r = await runChild(argv, v);
    results.push(r);
    const w = median(r.wall);
    const c = median(r.cpu);
    rows.push(
      `| ${label(v, a)} | ${w.toFixed(3)} | ${c.toFixed(3)} | ` +
        `${(stepGflop / w).toFixed(2)} | ${(stepGflop / c).toFixed(2)} | ${r.maxRssMB.toFixed(0)} | ${r.wall.length} | ${r.loss.toFixed(4)} |`,
    );
  }
  process.stdout.write(
    '| backend | step s (wall, median) | step s (CPU) | GFLOP/s (wall) | GFLOP/s per CPU-s | peak RSS MB | steps timed | loss |\n' +
      '|---|---|---|---|---|---|---|---|\n' +
      rows.join('\n') +
      '\n',
  );
  const wasm = results.find((r) => r.variant === 'wasm:1');
  for (const r of results.filter((x) => x.variant !== 'wasm:1')) {
    if (wasm) process.stdout.write(`${label(r.variant, a)} vs tfjs-wasm: ${(median(wasm.wall) / median(r.wall)).toFixed(1)}x by wall time, ${(median(wasm.cpu) / median(r.cpu)).toFixed(1)}x by CPU time\n`);
  }
  process.stdout.write(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
}

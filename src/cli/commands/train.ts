import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { validateModelConfig } from '../../model/config.js';
import { initBackend } from '../../runtime/backend.js';
import { loadTorch, torchUnavailableReason } from '../../runtime/torch.js';
import { torchGradients } from '../../training/torch-gradients.js';
import { listTrainingPairs, loadSample } from '../../training/data.js';
import type { LossWeights } from '../../training/losses.js';
import { DEFAULT_LOSS_WEIGHTS } from '../../training/losses.js';
import { sigCacheSource } from '../../training/sig-source.js';
import { DEFAULT_TRAIN_OPTIONS, train } from '../../training/trainer.js';
import { formatDuration } from '../../util/progress.js';

/**
 * `tesg train --data DIR --sig DIR --out DIR`: trains the TeSG network on an MSRS-layout folder
 * with the SIG cache of `tesg sig`. The loop is src/training/trainer.ts; this file parses options.
 */
interface TrainCliOptions {
  data: string;
  sig: string;
  out: string;
  steps: string;
  batch: string;
  microBatch?: string;
  crop: string;
  lr: string;
  weightDecay: string;
  seed: string;
  checkpointEvery: string;
  resume?: boolean;
  config?: string;
  dim?: string;
  heads?: string;
  maskOn?: string;
  output?: string;
  mgca: boolean;
  tivr: boolean;
  gaf: boolean;
  lossWeights?: string;
  backend: string;
  replicas: string;
  threads: string;
  cache?: string;
}

function int(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function num(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number >= 0, got '${v}'`);
  return n;
}

/** "ssim=1,intensity=4,gradient=10,color=12" (any subset). */
export function parseLossWeights(s: string | undefined): LossWeights {
  const w: LossWeights = { ...DEFAULT_LOSS_WEIGHTS };
  if (!s) return w;
  for (const part of s.split(',')) {
    const [k, v] = part.split('=');
    if (!(k in w) || v === undefined) throw new UsageError(`--loss-weights: expected name=value with names ${Object.keys(w).join(', ')}, got '${part}'`);
    w[k as keyof LossWeights] = num(`loss-weights ${k}`, v);
  }
  return w;
}

/** Model options: an options file (JSON, config keys) overridden by flags. */
async function modelOptions(o: TrainCliOptions): Promise<Partial<ModelConfig>> {
  let fromFile: Record<string, unknown> = {};
  if (o.config) {
    try {
      fromFile = JSON.parse(await fs.readFile(o.config, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(o.config, `cannot read the options file as JSON (${(err as Error).message})`);
    }
  }
  const flags: Record<string, unknown> = {
    dim: o.dim === undefined ? undefined : int('dim', o.dim),
    heads: o.heads === undefined ? undefined : int('heads', o.heads),
    mask_on: o.maskOn,
    output: o.output,
    use_mgca: o.mgca === false ? false : undefined,
    use_tivr: o.tivr === false ? false : undefined,
    use_gaf: o.gaf === false ? false : undefined,
  };
  const merged = { ...fromFile, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
  validateModelConfig(merged, o.config ?? 'options'); // reject bad keys now, before any data is read
  return merged as Partial<ModelConfig>;
}

async function runTrain(o: TrainCliOptions): Promise<void> {
  if (!['auto', 'torch', 'wasm', 'cpu'].includes(o.backend)) throw new UsageError(`--backend must be auto, torch, wasm or cpu, got '${o.backend}'`);
  // libtorch computes the gradients when its addon is built (native/); tfjs keeps the model, AdamW
  // and checkpoints either way, so runs and checkpoints move between backends.
  const torch = o.backend === 'torch' || (o.backend === 'auto' && torchUnavailableReason() === null);
  if (torch) loadTorch(); // --backend torch without the addon: says what to install
  const backend = await initBackend(o.backend === 'cpu' ? 'cpu' : 'wasm');
  const batch = int('batch', o.batch);
  const micro = o.microBatch === undefined ? (torch ? batch : DEFAULT_TRAIN_OPTIONS.microBatch) : int('micro-batch', o.microBatch);
  const replicas = int('replicas', o.replicas);
  const gradients = torch ? torchGradients({ replicas, threads: int('threads', o.threads), microBatch: micro }) : undefined;
  const pairs = await listTrainingPairs(o.data);
  const sig = sigCacheSource(o.sig);
  const model = await modelOptions(o);
  process.stderr.write(`tesg train: ${pairs.length} pairs from ${o.data}, SIG cache ${o.sig}, backend ${torch ? `libtorch (${replicas} replica(s) x ${o.threads} thread(s); tfjs-${backend.backend} for AdamW and checkpoints)` : backend.backend}` +
    (o.resume ? `; resuming ${o.out}: model config, batch, crop, lr, seed and loss weights come from its checkpoint` : '') + '\n');
  const r = await train(
    {
      outDir: o.out,
      steps: int('steps', o.steps),
      checkpointEvery: int('checkpoint-every', o.checkpointEvery),
      batch,
      microBatch: torch ? batch : micro,
      gradients,
      crop: int('crop', o.crop, 11),
      seed: int('seed', o.seed, 0),
      lr: num('lr', o.lr),
      weightDecay: num('weight-decay', o.weightDecay),
      lossWeights: parseLossWeights(o.lossWeights),
      model,
      resume: Boolean(o.resume),
      cacheSize: o.cache === undefined ? undefined : int('cache', o.cache, 0),
    },
    { pairs, load: (p) => loadSample(p, sig) },
  );
  const l = r.losses;
  process.stdout.write(
    `trained to step ${r.step} in ${formatDuration(r.elapsedSec)}` +
      (l ? `; last loss ${l.total.toFixed(4)} (ssim ${l.ssim.toFixed(4)}, intensity ${l.intensity.toFixed(4)}, gradient ${l.gradient.toFixed(4)}, colour ${l.color.toFixed(4)})` : '') +
      `\nweights: ${r.weightsFile}\ncheckpoint: ${r.checkpointFile}\n`,
  );
}

export function register(program: Command): void {
  const d = DEFAULT_TRAIN_OPTIONS;
  program
    .command('train')
    .description('train the TeSG network on an MSRS-layout folder (ir/, vi/) with its SIG cache (tesg sig)')
    .requiredOption('--data <dir>', 'training folder with ir/ and vi/ (paired by file name stem)')
    .requiredOption('--sig <dir>', 'SIG cache folder written by `tesg sig` for the same pairs')
    .requiredOption('--out <dir>', 'output folder: checkpoint.safetensors, tesg.safetensors, train-log.csv')
    .option('--steps <n>', 'total optimizer steps to reach', String(d.steps))
    .option('--batch <n>', 'batch size', String(d.batch))
    .option('--micro-batch <n>', `samples per forward/backward pass (gradients averaged; bounds memory; default ${d.microBatch} on tfjs, the whole share on libtorch)`)
    .option('--crop <n>', 'random crop size (pixels, >= 11 for SSIM)', String(d.crop))
    .option('--lr <x>', 'AdamW learning rate', String(d.lr))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', String(d.weightDecay))
    .option('--seed <n>', 'seed of the initial weights and of the crops/flips', String(d.seed))
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps (a kill loses at most N)', String(d.checkpointEvery))
    .option('--resume', 'continue the checkpoint in --out exactly (its config, optimizer, RNG)')
    .option('--config <file>', 'JSON options file with model config keys (dim, heads, ...; see docs/model.md)')
    .option('--dim <n>', 'feature channels (overrides --config)')
    .option('--heads <n>', 'attention heads (must divide dim)')
    .option('--mask-on <where>', 'apply M to: feature (default) | image (paper wording)')
    .option('--output <kind>', 'network output: y (colour from VI, default) | rgb (learned colour, colour loss)')
    .option('--no-mgca', 'ablation (a): plain cross-attention on whole images')
    .option('--no-tivr', 'ablation (b): no text guidance')
    .option('--no-gaf', 'ablation (c): no gated attentional fusion')
    .option('--loss-weights <list>', `e.g. ssim=1,intensity=4,gradient=10,color=12 (defaults)`)
    .option('--backend <name>', 'auto (libtorch when its addon is built, else wasm) | torch (libtorch, npm run build:native) | wasm | cpu (reference)', 'auto')
    .option('--replicas <n>', 'libtorch: worker threads each computing a share of the batch', String(Math.min(2, os.availableParallelism())))
    .option('--threads <n>', 'libtorch: intra-op threads per replica', '1')
    .option('--cache <n>', 'decoded pairs kept in memory (default: all)')
    .action((opts: TrainCliOptions) => runTrain(opts));
}

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import type { ModelConfig } from '../../model/config.js';
import { sizeMultiple, validateModelConfig } from '../../model/config.js';
import { CONFIG_KEY } from '../../model/model.js';
import { readTensorFileMetadata } from '../../model/safetensors.js';
import { MODEL_PRESETS, modelPreset } from '../../model/presets.js';
import { initBackend } from '../../runtime/backend.js';
import { loadTorch, torchUnavailableReason } from '../../runtime/torch.js';
import { torchGradients } from '../../training/torch-gradients.js';
import { listTrainingPairs, loadSample } from '../../training/data.js';
import { parseLossWeights } from '../../training/loss-weights.js';
import { parseGammaAugment } from '../../training/augment.js';
import { CHECKPOINT_FILE, readCheckpointState } from '../../training/checkpoint-state.js';

export { parseLossWeights };
import { sigCacheSource } from '../../training/sig-source.js';
import { readHeader } from '../../semantics/cache.js';
import { DEFAULT_TRAIN_OPTIONS, train } from '../../training/trainer.js';
import { formatDuration } from '../../util/progress.js';
import { checkOutputPath } from '../../util/output-path.js';

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
  modelConfig?: string;
  preset?: string;
  dim?: string;
  heads?: string;
  maskOn?: string;
  output?: string;
  mgca: boolean;
  tivr: boolean;
  gaf: boolean;
  lossWeights?: string;
  initWeights?: string;
  backend: string;
  replicas: string;
  threads: string;
  cache?: string;
  lrSchedule: string;
  warmupSteps: string;
  minLr: string;
  scheduleSteps?: string;
  clipGradNorm: string;
  augmentGamma?: string;
  teacher?: string;
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


/**
 * The preset a new run without --preset or an options file builds: the shipped models' architecture
 * (tesg-v2.x). `--preset v1` (or an options file, whose keys keep their meaning over the v1 defaults)
 * builds tesg-v1's full-resolution network.
 */
export const DEFAULT_TRAIN_PRESET = 'v2';

/** Model options: a preset (given, else DEFAULT_TRAIN_PRESET unless an options file is), the options file's keys, then flags. */
async function modelOptions(o: TrainCliOptions): Promise<Partial<ModelConfig>> {
  if (o.config && o.modelConfig) throw new UsageError('--config and --model-config are the same option: give one');
  if (o.initWeights !== undefined) return initModelOptions(o);
  const file = o.modelConfig ?? o.config;
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      fromFile = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(file, `cannot read the options file as JSON (${(err as Error).message})`);
    }
  }
  // a preset (src/model/presets.ts) first, then the options file's keys, then the flags
  const preset = o.preset ?? (file !== undefined || o.resume ? undefined : DEFAULT_TRAIN_PRESET);
  if (preset !== undefined) fromFile = { ...modelPreset(preset), ...fromFile };
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
  const where = file ?? (o.preset ? `--preset ${o.preset}` : preset ? `the default preset ${preset} (--preset v1 builds tesg-v1's full-resolution network)` : 'options');
  const cfg = validateModelConfig(merged, where); // reject bad keys now, before any data is read
  const m = sizeMultiple(cfg);
  if (!o.resume && Number(o.crop) % m !== 0) throw new UsageError(`--crop ${o.crop} must be a multiple of ${m} for this model (its size multiple: one factor 2 per level)`);
  return merged as Partial<ModelConfig>;
}

/**
 * --init-weights: the model config is the file's; model flags would silently differ from it, so
 * they are refused. Returns {} (the trainer loads the file) after the crop check with its config.
 */
async function initModelOptions(o: TrainCliOptions): Promise<Partial<ModelConfig>> {
  const file = o.initWeights!;
  if (o.resume) throw new UsageError(`--init-weights starts a new run from ${file}; --resume continues the checkpoint in --out: give one of them`);
  const given = ([['--config', o.config ?? o.modelConfig], ['--preset', o.preset], ['--dim', o.dim], ['--heads', o.heads], ['--mask-on', o.maskOn], ['--output', o.output],
    ['--no-mgca', o.mgca === false || undefined], ['--no-tivr', o.tivr === false || undefined], ['--no-gaf', o.gaf === false || undefined]] as const)
    .filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length > 0) throw new UsageError(`--init-weights ${file} brings its own model config: drop ${given.join(', ')}`);
  const raw = (await readTensorFileMetadata(file))[CONFIG_KEY];
  if (!raw) throw new InputError(file, `no '${CONFIG_KEY}' in the metadata: not a tesg weights file (give a tesg.safetensors or checkpoint.safetensors)`);
  const cfg = validateModelConfig(JSON.parse(raw) as Record<string, unknown>, `${file} (${CONFIG_KEY})`);
  const m = sizeMultiple(cfg);
  if (Number(o.crop) % m !== 0) throw new UsageError(`--crop ${o.crop} must be a multiple of ${m} for ${file}'s model (its size multiple: one factor 2 per level)`);
  return {};
}

async function runTrain(o: TrainCliOptions): Promise<void> {
  if (!['auto', 'torch', 'wasm', 'cpu'].includes(o.backend)) throw new UsageError(`--backend must be auto, torch, wasm or cpu, got '${o.backend}'`);
  // before the backend, the data or the SIG cache is loaded (--resume: the existing run folder)
  checkOutputPath(o.out, 'folder', '--out takes a run folder (created if missing) for checkpoint.safetensors, tesg.safetensors and train-log.csv');
  // libtorch computes the gradients when its addon is built (native/); tfjs keeps the model, AdamW
  // and checkpoints either way, so runs and checkpoints move between backends.
  const torch = o.backend === 'torch' || (o.backend === 'auto' && torchUnavailableReason() === null);
  if (torch) loadTorch(); // --backend torch without the addon: says what to install
  const backend = await initBackend(o.backend === 'cpu' ? 'cpu' : 'wasm');
  const batch = int('batch', o.batch);
  // no --micro-batch: the whole share on libtorch; on tfjs the largest divisor of the batch up to the
  // default (the trainer picks it from the checkpoint's batch on resume), so any --batch works
  const micro = o.microBatch === undefined ? undefined : int('micro-batch', o.microBatch);
  const replicas = int('replicas', o.replicas);
  const gradients = torch ? torchGradients({ replicas, threads: int('threads', o.threads), microBatch: micro }) : undefined;
  if (!['constant', 'cosine'].includes(o.lrSchedule)) throw new UsageError(`--lr-schedule must be constant or cosine, got '${o.lrSchedule}'`);
  const sigHeader = { ...(await readHeader(o.sig)) } as Record<string, unknown>;
  const pairs = await listTrainingPairs(o.data);
  const sig = sigCacheSource(o.sig);
  const lossWeights = parseLossWeights(o.lossWeights);
  // distillation: on resume the checkpoint's teacher folder, or --teacher where it has moved
  const recorded = o.resume ? ((await readCheckpointState(o.out, 'start a new run'))?.teacher as string | undefined) : undefined;
  if (o.resume && o.teacher !== undefined && recorded === undefined) {
    throw new UsageError(`--teacher ${o.teacher}: the checkpoint in ${o.out} was trained without a teacher; distillation starts with a new run (e.g. --init-weights ${path.join(o.out, CHECKPOINT_FILE)})`);
  }
  const teacher = o.teacher !== undefined ? path.resolve(o.teacher) : recorded;
  if (!o.resume && (o.teacher !== undefined) !== Boolean(lossWeights.teacher)) {
    throw new UsageError(o.teacher !== undefined ? `--teacher ${o.teacher} needs a weight for its term: add teacher=W to --loss-weights (e.g. --loss-weights teacher=20)` : `--loss-weights teacher=${lossWeights.teacher} needs --teacher DIR (the teacher model's fused images of the training pairs)`);
  }
  if (!o.resume && o.teacher !== undefined && o.augmentGamma !== undefined) {
    throw new UsageError('--teacher and --augment-gamma do not combine: the teacher\'s fused images are of the pairs as they are, not of gamma-changed ones');
  }
  if (teacher !== undefined) {
    // every pair's teacher image before the first step, not a missing one hours into the run
    const missing = pairs.filter((p) => !existsSync(path.join(teacher, `${p.stem}.png`)));
    if (missing.length > 0) {
      throw new InputError(path.join(teacher, `${missing[0].stem}.png`), `missing (${missing.length} of ${pairs.length} training pairs have no teacher image in ${teacher}); fuse --data with the teacher model into that folder first`);
    }
  }
  const model = await modelOptions(o);
  process.stderr.write(`tesg train: ${pairs.length} pairs from ${o.data}, SIG cache ${o.sig}, backend ${torch ? `libtorch (${replicas} replica(s) x ${o.threads} thread(s); tfjs-${backend.backend} for AdamW and checkpoints)` : backend.backend}` +
    (o.resume ? `; resuming ${o.out}: model config, batch, crop, lr, lr schedule, clipping, seed, loss weights and augmentation come from its checkpoint` : '') +
    (o.resume || o.initWeights !== undefined || (o.config ?? o.modelConfig) !== undefined ? '' : `; model: preset ${o.preset ?? `${DEFAULT_TRAIN_PRESET} (the default)`}`) + '\n');
  const r = await train(
    {
      outDir: o.out,
      steps: int('steps', o.steps),
      checkpointEvery: int('checkpoint-every', o.checkpointEvery),
      batch,
      microBatch: torch ? undefined : micro,
      maxMicroBatch: torch ? undefined : DEFAULT_TRAIN_OPTIONS.microBatch,
      gradients,
      crop: int('crop', o.crop, 11),
      seed: int('seed', o.seed, 0),
      lr: num('lr', o.lr),
      weightDecay: num('weight-decay', o.weightDecay),
      lossWeights,
      model,
      resume: Boolean(o.resume),
      cacheSize: o.cache === undefined ? undefined : int('cache', o.cache, 0),
      schedule: { kind: o.lrSchedule as 'constant' | 'cosine', warmupSteps: int('warmup-steps', o.warmupSteps, 0), minLr: num('min-lr', o.minLr) },
      scheduleSteps: o.scheduleSteps === undefined ? undefined : int('schedule-steps', o.scheduleSteps),
      clipGradNorm: num('clip-grad-norm', o.clipGradNorm),
      sig: sigHeader,
      initWeights: o.initWeights,
      augment: o.augmentGamma === undefined ? undefined : parseGammaAugment(o.augmentGamma),
      teacher,
    },
    { pairs, load: (p) => loadSample(p, sig, teacher) },
  );
  const l = r.losses;
  process.stdout.write(
    `trained to step ${r.step} in ${formatDuration(r.elapsedSec)}` +
      (l ? `; last loss ${l.total.toFixed(4)} (ssim ${l.ssim.toFixed(4)}, intensity ${l.intensity.toFixed(4)}, gradient ${l.gradient.toFixed(4)}, colour ${l.color.toFixed(4)}${l.teacher !== undefined ? `, teacher ${l.teacher.toExponential(3)}` : ''})` : '') +
      `\nweights: ${r.weightsFile}\ncheckpoint: ${r.checkpointFile}\n` +
      `to fuse with it on ONNX Runtime (about 2x faster than tfjs): tesg export --weights ${r.weightsFile}, then tesg fuse ... --weights ${r.weightsFile}\n`,
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
    .option('--micro-batch <n>', `samples per forward/backward pass (gradients averaged; bounds memory; must divide --batch; default: the largest divisor of the batch up to ${d.microBatch} on tfjs, the whole share on libtorch)`)
    .option('--crop <n>', 'random crop size (pixels, >= 11 for SSIM)', String(d.crop))
    .option('--lr <x>', 'AdamW learning rate (the peak lr with a schedule)', String(d.lr))
    .option('--lr-schedule <kind>', 'constant | cosine (linear warm-up, then cosine decay to --min-lr at --schedule-steps)', d.lrSchedule)
    .option('--warmup-steps <n>', 'steps of linear lr warm-up from 0 to --lr', String(d.warmupSteps))
    .option('--min-lr <x>', 'cosine: the lr at the end of the decay', String(d.minLr))
    .option('--schedule-steps <n>', 'cosine: the step the decay ends at (default --steps; on --resume, giving it re-targets the stored decay)')
    .option('--clip-grad-norm <x>', 'clip the global gradient L2 norm to x before AdamW, as torch clip_grad_norm_ (0: off)', String(d.clipGradNorm))
    .option('--augment-gamma <ranges>', 'intensity augmentation: a gamma per crop and modality, log-uniform in MIN:MAX, e.g. ir=0.25:1,vi=0.5:1 (< 1 brightens; MSRS IR is dark, other datasets\' is not)')
    .option('--teacher <dir>', 'distillation: a teacher model\'s fused images of the training pairs (<stem>.png, e.g. `tesg fuse` of --data with tesg-v1), with teacher=W in --loss-weights')
    .option('--weight-decay <x>', 'AdamW decoupled weight decay', String(d.weightDecay))
    .option('--seed <n>', 'seed of the initial weights and of the crops/flips', String(d.seed))
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps (a kill loses at most N)', String(d.checkpointEvery))
    .option('--resume', 'continue the checkpoint in --out exactly (its config, optimizer, RNG)')
    .option('--init-weights <file>', 'fine-tune: start a new run from these weights (a tesg.safetensors or checkpoint; their config, a fresh optimizer and lr schedule), e.g. the shipped model on your own data')
    .option('--config <file>', 'JSON options file with model config keys (dim, heads, level_dims, ...; see docs/model.md)')
    .option('--model-config <file>', 'the same as --config')
    .option('--preset <name>', `model preset (${Object.keys(MODEL_PRESETS).join(', ')}; src/model/presets.ts); an options file and flags override its keys (default: ${DEFAULT_TRAIN_PRESET}, the shipped models' U-shaped network, unless --config is given; v1 for tesg-v1's)`)
    .option('--dim <n>', 'feature channels at full resolution (overrides the preset and --config; with preset v2 the inner levels keep their level_dims)')
    .option('--heads <n>', 'attention heads (must divide dim)')
    .option('--mask-on <where>', 'apply M to: feature (default) | image (paper wording)')
    .option('--output <kind>', 'network output: y (colour from VI, default) | rgb (learned colour, colour loss; not with base_fusion max, i.e. give --preset v1)')
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

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MismatchError, TrainingError, UsageError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { rgbToY } from '../model/color.js';
import { TesgModel } from '../model/model.js';
import { ensureGradients, tf } from '../model/tfjs.js';
import { writeFileAtomic } from '../util/atomic.js';
import { createProgress } from '../util/progress.js';
import { AdamW, DEFAULT_ADAMW } from './adamw.js';
import type { InitRecord, TrainedSig, TrainState } from './checkpoint.js';
import { hasCheckpoint, INIT_KEY, loadCheckpoint, removeStaleTempFiles, saveCheckpoint, SIG_KEY, WEIGHTS_FILE } from './checkpoint.js';
import { readTensorFileMetadata, writeTensorFile } from '../model/safetensors.js';
import type { Batch, TrainPair, TrainSample } from './data.js';
import { BatchSampler } from './data.js';
import type { LossWeights } from './losses.js';
import { DEFAULT_LOSS_WEIGHTS, fusionLoss } from './losses.js';
import type { LrSchedule } from './schedule.js';
import { DEFAULT_MIN_LR, describeSchedule, lrAt } from './schedule.js';
import { newRunSettings, resumedSettings, sigLabel } from './run-settings.js';
import { clipScale, globalNorm, scaleGradients } from './clip.js';
import type { GammaAugment } from './augment.js';
import { describeGammaAugment } from './augment.js';

/**
 * The training loop: seeded batches, loss, gradients, AdamW, checkpoints every N steps (atomic;
 * `resume` continues bit-exactly), a stop with TrainingError on NaN/Inf that leaves the last good
 * checkpoint untouched, a progress line and a CSV log.
 */
export interface TrainOptions {
  outDir: string;
  /** Total steps to reach (a resumed run continues up to this). */
  steps: number;
  checkpointEvery: number;
  batch: number;
  crop: number;
  seed: number;
  lr: number;
  weightDecay: number;
  lossWeights: LossWeights;
  /** Model options for a new run (ignored on resume, where the checkpoint's config rules). */
  model: Partial<ModelConfig>;
  resume: boolean;
  /**
   * Samples per forward/backward pass; the batch is split into equal micro-batches whose gradients
   * are averaged (the same gradient as the whole batch: every loss term is a mean). Bounds activation
   * memory: the 32-bit wasm heap holds about batch 2 at 96x96 with the default model.
   */
  microBatch?: number;
  /**
   * When `microBatch` is not given: the largest divisor of the batch (the checkpoint's on resume) up
   * to this, so a default never fails to divide a batch the user chose (batch 3 -> 1, 8 -> 2).
   * Neither given: the whole batch in one pass.
   */
  maxMicroBatch?: number;
  /** Decoded pairs kept in memory. */
  cacheSize?: number;
  /** Progress: TTY bar or lines (default: by stderr). */
  tty?: boolean;
  /** Where plain progress lines go (default stderr). */
  write?: (line: string) => void;
  /** Computes the gradients of one batch; default: this process (a data-parallel version can replace it). */
  gradients?: GradientFn;
  /**
   * lr schedule of a new run (./schedule.ts; baseLr is `lr`, totalSteps is `steps`). Default: constant,
   * no warm-up. On resume the checkpoint's schedule rules.
   */
  schedule?: { kind: LrSchedule['kind']; warmupSteps?: number; minLr?: number };
  /**
   * Step at which the cosine decay reaches minLr (default: `steps`), so a long run can be trained in
   * chunks of `steps`. On resume the stored one rules, unless this is given and differs: then the decay
   * is re-targeted to end here (logged, recorded in the checkpoint; the lr jumps to the new curve).
   */
  scheduleSteps?: number;
  /** Clip the global gradient norm to this (torch.nn.utils.clip_grad_norm_); 0 or absent: off. New runs only; resume uses the checkpoint's. */
  clipGradNorm?: number;
  /** The SIG cache header (sig.json) the data comes from; recorded as `tesg_sig` in the checkpoint and weights. */
  sig?: Record<string, unknown>;
  /**
   * Fine-tune: a new run starts from this weights file's parameters and config (a fresh optimizer,
   * schedule and sampler; `model` must be empty). Its text encoder must match the SIG cache's.
   * Recorded in the checkpoint (`init`). Ignored on resume (the checkpoint holds the weights).
   */
  initWeights?: string;
  /** Per-sample gamma of the IR and VI crops (./augment.ts). New runs only; resume uses the checkpoint's. */
  augment?: GammaAugment;
  /**
   * Distillation: the folder of a teacher model's fused images of the training pairs (`<stem>.png`,
   * read by the data loader); recorded in the checkpoint. Needs lossWeights.teacher > 0.
   */
  teacher?: string;
}

export const DEFAULT_TRAIN_OPTIONS = {
  steps: 10000,
  checkpointEvery: 100,
  batch: 8,
  microBatch: 2,
  crop: 96,
  seed: 0,
  lr: DEFAULT_ADAMW.lr,
  weightDecay: DEFAULT_ADAMW.weightDecay,
  lossWeights: DEFAULT_LOSS_WEIGHTS,
  lrSchedule: 'constant',
  warmupSteps: 0,
  minLr: DEFAULT_MIN_LR,
  clipGradNorm: 0,
} as const;

export interface LossValues {
  total: number;
  ssim: number;
  intensity: number;
  gradient: number;
  color: number;
  /** Distillation: mean((Y_F - Y_teacher)^2), unweighted; only in runs with a teacher. */
  teacher?: number;
}

export interface StepGradients {
  losses: LossValues;
  /** Gradient per parameter name; the caller disposes them. */
  grads: Map<string, tf.Tensor>;
}

export type GradientFn = (model: TesgModel, batch: Batch, weights: LossWeights) => Promise<StepGradients>;

export interface TrainData {
  pairs: TrainPair[];
  load: (p: TrainPair) => Promise<TrainSample>;
}

export interface TrainResult {
  step: number;
  losses: LossValues | null;
  weightsFile: string;
  checkpointFile: string;
  elapsedSec: number;
}

/** Tensors of a batch (NHWC). */
export function batchTensors(b: Batch, cfg: ModelConfig): { ir: tf.Tensor4D; vi: tf.Tensor4D; mask: tf.Tensor4D; text: tf.Tensor3D } {
  const s = [b.size, b.crop, b.crop] as const;
  return {
    ir: tf.tensor4d(b.ir, [...s, 1]),
    vi: tf.tensor4d(b.vi, [...s, 3]),
    mask: tf.tensor4d(b.mask, [...s, 1]),
    text: tf.tensor3d(b.text, [b.size, cfg.text_tokens, cfg.text_dim]),
  };
}

/** Loss and gradients of one batch in this process. */
export const localGradients: GradientFn = async (model, batch, weights) => {
  const names = new Map<string, string>();
  for (const [name, v] of model.params.vars) names.set(v.name, name);
  const kept: tf.Scalar[] = [];
  const inp = batchTensors(batch, model.config);
  try {
    const { value, grads } = tf.variableGrads(() => {
      const viIn = model.config.vi_input === 'rgb' ? inp.vi : rgbToY(inp.vi);
      const out = model.forward({ ir: inp.ir, vi: viIn, mask: inp.mask, text: inp.text });
      const t = fusionLoss(out, model.config.output, inp.ir, inp.vi, weights);
      kept.push(tf.keep(t.ssim), tf.keep(t.intensity), tf.keep(t.gradient), tf.keep(t.color));
      if (!batch.teacher || !weights.teacher) return t.total;
      const mse = teacherTerm(out, model.config.output, batch.teacher);
      kept.push(tf.keep(mse));
      return tf.add(t.total, tf.mul(mse, weights.teacher)) as tf.Scalar;
    }, [...model.params.vars.values()]);
    const [ssim, intensity, gradient, color, teacher] = await Promise.all(kept.map((k) => k.data()));
    const total = (await value.data())[0];
    value.dispose();
    const byName = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) byName.set(names.get(vn)!, g);
    return { losses: { total, ssim: ssim[0], intensity: intensity[0], gradient: gradient[0], color: color[0], ...(teacher ? { teacher: teacher[0] } : {}) }, grads: byName };
  } finally {
    tf.dispose(kept);
    tf.dispose(Object.values(inp));
  }
};

/**
 * Distillation term: mean((Y_F - Y_teacher)^2) over the batch, Y_F the fused luminance [B,H,W,1]
 * (BT.601 Y of an RGB output), Y_teacher the teacher's fused luminance in 0..1, same layout. The same
 * sum as the libtorch step's (./torch-step.ts).
 */
export function teacherTerm(out: tf.Tensor, output: ModelConfig['output'], teacher: Float32Array): tf.Scalar {
  return tf.tidy(() => {
    const y = output === 'rgb' ? rgbToY(out as tf.Tensor4D) : out;
    return tf.mean(tf.square(tf.sub(y, tf.tensor(teacher, y.shape)))) as tf.Scalar;
  });
}

/** The largest divisor of `n` that is <= `max` (at least 1): a micro-batch size that splits n evenly. */
export function largestDivisorUpTo(n: number, max: number): number {
  for (let d = Math.min(n, Math.max(1, Math.floor(max))); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** Samples [from, from + n) of a batch. */
export function subBatch(b: Batch, from: number, n: number): Batch {
  const per = (a: Float32Array) => a.length / b.size;
  const cut = (a: Float32Array) => a.subarray(from * per(a), (from + n) * per(a));
  return { ...b, size: n, ir: cut(b.ir), vi: cut(b.vi), mask: cut(b.mask), text: cut(b.text), stems: b.stems.slice(from, from + n), ...(b.teacher ? { teacher: cut(b.teacher) } : {}) };
}

/** `gradients` over equal micro-batches of `micro` samples, averaged. */
export async function accumulatedGradients(
  gradients: GradientFn,
  model: TesgModel,
  batch: Batch,
  weights: LossWeights,
  micro: number,
): Promise<StepGradients> {
  if (micro >= batch.size) return gradients(model, batch, weights);
  if (batch.size % micro !== 0) throw new UsageError(`--micro-batch ${micro} must divide --batch ${batch.size}`);
  const parts = batch.size / micro;
  let sum: StepGradients | null = null;
  for (let i = 0; i < parts; i++) {
    const g = await gradients(model, subBatch(batch, i * micro, micro), weights);
    if (!sum) {
      sum = g;
      continue;
    }
    for (const [name, t] of g.grads) {
      const prev = sum.grads.get(name)!;
      sum.grads.set(name, tf.add(prev, t));
      tf.dispose([prev, t]);
    }
    for (const k of Object.keys(sum.losses) as (keyof LossValues)[]) sum.losses[k] = (sum.losses[k] ?? 0) + (g.losses[k] ?? 0);
  }
  const out = sum!;
  for (const [name, t] of out.grads) {
    out.grads.set(name, tf.div(t, parts));
    t.dispose();
  }
  for (const k of Object.keys(out.losses) as (keyof LossValues)[]) out.losses[k] = (out.losses[k] ?? 0) / parts;
  return out;
}

const CSV_HEADER = 'step,loss,ssim,intensity,gradient,color,grad_norm,lr,sec_per_step,elapsed_s';
/** A distillation run's log has one more column: the unweighted teacher term (loss includes W times it). */
const csvHeader = (teacher: boolean) => CSV_HEADER + (teacher ? ',teacher' : '');

export async function train(opts: TrainOptions, data: TrainData): Promise<TrainResult> {
  await ensureGradients();
  if (!(opts.steps >= 1 && opts.checkpointEvery >= 1)) throw new UsageError(`--steps and --checkpoint-every must be >= 1`);
  if (!(opts.clipGradNorm === undefined || (Number.isFinite(opts.clipGradNorm) && opts.clipGradNorm >= 0))) {
    throw new UsageError(`--clip-grad-norm must be a number >= 0 (0: off), got ${opts.clipGradNorm}`);
  }
  const log = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  await fs.mkdir(opts.outDir, { recursive: true });
  for (const name of await removeStaleTempFiles(opts.outDir)) log(`removed ${name}: a write interrupted by a killed run (the checkpoint beside it is the last complete one)`);
  const csvPath = path.join(opts.outDir, 'train-log.csv');
  let model: TesgModel;
  let adam: AdamW;
  let state: TrainState;
  if (opts.resume) {
    ({ model, adam, state } = await loadCheckpoint(opts.outDir));
    state = resumedSettings(state, opts, log);
    if (opts.teacher !== undefined && state.teacher !== undefined && opts.teacher !== state.teacher) {
      log(`distillation: the teacher's images are now read from ${opts.teacher} (the checkpoint had ${state.teacher})`);
      state = { ...state, teacher: opts.teacher };
    }
    await truncateCsv(csvPath, state.step, Boolean(state.teacher));
  } else {
    if (hasCheckpoint(opts.outDir)) {
      throw new UsageError(`${opts.outDir} already holds a checkpoint: pass --resume to continue it, or choose another --out`);
    }
    const first = await data.load(data.pairs[0]);
    model = opts.initWeights ? await initialWeights(opts, first, log) : TesgModel.create(withTextEncoder(opts.model, first), opts.seed);
    adam = new AdamW({ ...DEFAULT_ADAMW, lr: opts.lr, weightDecay: opts.weightDecay });
    state = {
      step: 0,
      sampler: new BatchSampler(data.pairs, data.load, { batch: opts.batch, crop: opts.crop, seed: opts.seed, augment: opts.augment }).state(),
      adam: { t: 0, opts: adam.opts },
      lossWeights: opts.lossWeights,
      batch: opts.batch,
      crop: opts.crop,
      seed: opts.seed,
      elapsedSec: 0,
      ...newRunSettings(opts),
      ...(opts.initWeights ? { init: await initRecord(opts.initWeights) } : {}),
      ...(opts.augment ? { augment: opts.augment } : {}),
      ...(opts.teacher ? { teacher: opts.teacher } : {}),
    };
    await writeFileAtomic(csvPath, csvHeader(Boolean(opts.teacher)) + '\n');
  }
  const sampler = new BatchSampler(data.pairs, data.load, { batch: state.batch, crop: state.crop, seed: state.seed, cacheSize: opts.cacheSize, augment: state.augment }, state.sampler);
  const gradients = opts.gradients ?? localGradients;
  const microBatch = opts.microBatch ?? largestDivisorUpTo(state.batch, opts.maxMicroBatch ?? state.batch);
  const schedule = state.schedule!;
  const clip = state.clipGradNorm ?? 0;
  log(`lr schedule: ${describeSchedule(schedule)}; gradient-norm clipping: ${clip > 0 ? `at ${clip}` : 'off'}` +
    (state.augment ? `; augmentation: ${describeGammaAugment(state.augment)}` : '') +
    (state.teacher ? `; teacher ${state.teacher} (weight ${state.lossWeights.teacher ?? 0})` : '') +
    (state.sig ? `; SIG: ${sigLabel(state.sig.header)}` : ''));
  const progress = createProgress({ label: 'train', total: Math.max(0, opts.steps - state.step), tty: opts.tty, write: opts.write, lineEverySec: 10 });
  const start = Date.now();
  const elapsedBefore = state.elapsedSec;
  let lastGood = state.step;
  let last: LossValues | null = null;
  let checkpointFile = '';
  let clippedSteps = 0;
  try {
    while (state.step < opts.steps) {
      const t0 = Date.now();
      const batch = await sampler.next();
      model.checkTextEncoder(batch.textEncoderId, batch.text.length / batch.size);
      const { losses, grads } = await accumulatedGradients(gradients, model, batch, state.lossWeights, microBatch);
      const step = state.step + 1;
      try {
        // by name: a model loaded from a checkpoint lists its parameters sorted, a new one in creation
        // order, and a float32 sum in another order differs in the last bit (then so would the clipping)
        const norm = globalNorm([...grads.keys()].sort().map((name) => grads.get(name)!));
        if (!Number.isFinite(losses.total) || !Number.isFinite(norm)) {
          throw new TrainingError(
            `step ${step}: ${!Number.isFinite(losses.total) ? `loss is ${losses.total}` : `gradient norm is ${norm}`} ` +
              `(ssim ${losses.ssim}, intensity ${losses.intensity}, gradient ${losses.gradient}, colour ${losses.color}) in a batch of ${batch.stems.join(', ')}. ` +
              `Stopped without applying it; the last good checkpoint (step ${lastGood}) is in ${opts.outDir}. Check those inputs or lower --lr.`,
          );
        }
        const scale = clipScale(norm, clip);
        if (scale < 1) scaleGradients(grads, scale);
        // the schedule sets the lr of every step (torch's AdamW also scales the decoupled decay by it)
        adam.opts.lr = lrAt(schedule, step);
        adam.step(model.params.vars, grads);
        if (scale < 1) clippedSteps++;
        last = losses;
        state = {
          ...state,
          step,
          sampler: sampler.state(),
          adam: { t: adam.t, opts: adam.opts },
          elapsedSec: elapsedBefore + (Date.now() - start) / 1000,
        };
        const sec = (Date.now() - t0) / 1000;
        await fs.appendFile(
          csvPath,
          [step, losses.total, losses.ssim, losses.intensity, losses.gradient, losses.color, norm, adam.opts.lr, sec, state.elapsedSec, ...(state.teacher ? [losses.teacher ?? 0] : [])]
            .map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(6) : String(v)))
            .join(',') + '\n',
        );
      } finally {
        tf.dispose([...grads.values()]);
      }
      progress.tick(
        1,
        `step ${state.step}/${opts.steps} loss ${last.total.toFixed(4)} (ssim ${last.ssim.toFixed(3)} int ${last.intensity.toFixed(4)} ` +
          `grad ${last.gradient.toFixed(4)} col ${last.color.toFixed(4)}${last.teacher !== undefined ? ` teacher ${last.teacher.toExponential(2)}` : ''}) lr ${adam.opts.lr.toPrecision(3)}` +
          (clip > 0 ? ` clipped ${clippedSteps}` : ''),
      );
      if (state.step % opts.checkpointEvery === 0 || state.step === opts.steps) {
        checkpointFile = await saveCheckpoint(opts.outDir, model, adam, state);
        lastGood = state.step;
      }
    }
    progress.done();
    const weightsFile = path.join(opts.outDir, WEIGHTS_FILE);
    const metadata: Record<string, string> = {};
    if (state.sig) metadata[SIG_KEY] = JSON.stringify(state.sig);
    if (state.init) metadata[INIT_KEY] = JSON.stringify(state.init);
    await writeTensorFile(weightsFile, await model.toTensorFile(Object.keys(metadata).length > 0 ? { metadata } : undefined));
    return { step: state.step, losses: last, weightsFile, checkpointFile, elapsedSec: state.elapsedSec };
  } finally {
    model.dispose();
    adam.dispose();
  }
}

/** A new model's text encoder is the one the data's SIG cache used (its id and F_t shape). */
/** The model of a fine-tuning run: the weights file's, checked against the training data's text embeddings. */
async function initialWeights(opts: TrainOptions, first: TrainSample, log: (l: string) => void): Promise<TesgModel> {
  const file = opts.initWeights!;
  if (Object.keys(opts.model).length > 0) throw new UsageError(`--init-weights ${file} brings its own model config: drop the model options (${Object.keys(opts.model).join(', ')})`);
  const model = await TesgModel.load(file);
  const c = model.config;
  if (c.text_encoder !== first.sig.textEncoderId || c.text_tokens * c.text_dim !== first.sig.embedding.length) {
    model.dispose();
    throw new MismatchError(`${file}: the weights take '${c.text_encoder}' embeddings (${c.text_tokens}x${c.text_dim}) but the SIG cache holds '${first.sig.textEncoderId}' (${first.sig.embedding.length} values): use a cache made with the same text encoder`);
  }
  const theirs = (await readTensorFileMetadata(file))[SIG_KEY];
  const theirMasker = theirs ? ((JSON.parse(theirs) as TrainedSig).header?.masker as string | undefined) : undefined;
  if (opts.sig && theirMasker !== undefined && theirMasker !== opts.sig.masker) {
    log(`note: ${file} was trained with the SIG masker '${theirMasker}', this cache has '${String(opts.sig.masker)}'`);
  }
  log(`fine-tuning from ${file} (its config; a fresh optimizer, lr schedule and sampler)`);
  return model;
}

/** What the checkpoint records of --init-weights: the path and the file's own SIG and init records. */
async function initRecord(file: string): Promise<InitRecord> {
  const meta = await readTensorFileMetadata(file);
  const parse = <T>(key: string): T | undefined => {
    try {
      return meta[key] ? (JSON.parse(meta[key]) as T) : undefined;
    } catch {
      return undefined; // a malformed record is not worth failing a run for; the path is kept
    }
  };
  const sig = parse<TrainedSig>(SIG_KEY);
  const init = parse<InitRecord>(INIT_KEY);
  return { weights: file, ...(sig ? { sig } : {}), ...(init ? { init } : {}) };
}

function withTextEncoder(cfg: Partial<ModelConfig>, first: TrainSample): Partial<ModelConfig> {
  const id = first.sig.textEncoderId;
  if (cfg.text_encoder !== undefined && cfg.text_encoder !== id) {
    throw new MismatchError(`the model is set to text encoder '${cfg.text_encoder}' but the SIG cache holds '${id}' embeddings`);
  }
  const tokens = cfg.text_tokens ?? 77;
  const n = first.sig.embedding.length;
  if (n % tokens !== 0) throw new MismatchError(`the SIG embedding has ${n} values, not a multiple of ${tokens} tokens`);
  return { ...cfg, text_encoder: id, text_tokens: tokens, text_dim: n / tokens };
}

/** On resume, drop log rows after the checkpoint's step (they will be recomputed identically). */
async function truncateCsv(csvPath: string, step: number, teacher: boolean): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(csvPath, 'utf8');
  } catch {
    await writeFileAtomic(csvPath, csvHeader(teacher) + '\n');
    return;
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  const keep = lines.filter((l, i) => i === 0 || Number(l.split(',')[0]) <= step);
  await writeFileAtomic(csvPath, keep.join('\n') + '\n');
}

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { TrainingError } from '../errors.js';
import { TesgModel, TRAIN_STATE_PREFIX } from '../model/model.js';
import type { NamedArray } from '../model/params.js';
import { readTensorFile, writeTensorFile } from '../model/safetensors.js';
import type { AdamWOptions } from './adamw.js';
import { AdamW } from './adamw.js';
import type { GammaAugment } from './augment.js';
import type { SamplerState } from './data.js';
import type { LossWeights } from './losses.js';
import type { LrSchedule } from './schedule.js';
import { CHECKPOINT_FILE, STATE_KEY } from './checkpoint-state.js';

/**
 * A checkpoint is one safetensors file: the weights under their own names (so `TesgModel.load`
 * reads a checkpoint like a weights file), the AdamW moments under "optim.m.*" / "optim.v.*", and
 * the training state as JSON in the metadata. Written atomically: a kill mid-write keeps the last one.
 */
export { CHECKPOINT_FILE };
export const WEIGHTS_FILE = 'tesg.safetensors';

/** Metadata key of the SIG that made the training cache (its sig.json header as JSON), in checkpoints and weights. */
export const SIG_KEY = 'tesg_sig';
/** Metadata key of a fine-tuning run's origin (InitRecord as JSON), in its checkpoints and weights. */
export const INIT_KEY = 'tesg_init';

export interface TrainState {
  step: number;
  sampler: SamplerState;
  adam: { t: number; opts: AdamWOptions };
  lossWeights: LossWeights;
  batch: number;
  crop: number;
  seed: number;
  /** Seconds spent training so far (all runs). */
  elapsedSec: number;
  /** The lr schedule (absent in checkpoints before it existed: constant at adam.opts.lr). */
  schedule?: LrSchedule;
  /** Gradient-norm clipping threshold; absent or 0: off. */
  clipGradNorm?: number;
  /** The SIG cache header (sig.json) the run trained on; `previous` lists earlier ones and their last step. */
  sig?: TrainedSig;
  /** A fine-tuning run (`--init-weights`): the weights file it started from, and that file's training record. */
  init?: InitRecord;
  /** Intensity augmentation of the crops (./augment.ts); absent: none. */
  augment?: GammaAugment;
  /** Distillation: the teacher's fused-image folder (TrainOptions.teacher); absent: none. */
  teacher?: string;
}

/** Where a fine-tuning run's initial weights came from. */
export interface InitRecord {
  /** The path as given to --init-weights. */
  weights: string;
  /** The SIG those weights were trained with (their `tesg_sig`), when recorded. */
  sig?: TrainedSig;
  /** Their own `tesg_init`, so a chain of fine-tunings stays traceable. */
  init?: InitRecord;
}

/** What `tesg_sig` holds: the SIG cache's sig.json header, and any other SIG an earlier part of the run used. */
export interface TrainedSig {
  header: Record<string, unknown>;
  previous?: { header: Record<string, unknown>; untilStep: number }[];
}

export function checkpointPath(outDir: string): string {
  return path.join(outDir, CHECKPOINT_FILE);
}

export function hasCheckpoint(outDir: string): boolean {
  return existsSync(checkpointPath(outDir));
}

function assertFinite(arrays: Map<string, NamedArray>, what: string): void {
  for (const [name, a] of arrays) {
    for (let i = 0; i < a.data.length; i++) {
      if (!Number.isFinite(a.data[i])) throw new TrainingError(`${what} ${name} holds ${a.data[i]}: not saving it`);
    }
  }
}

export async function saveCheckpoint(outDir: string, model: TesgModel, adam: AdamW, state: TrainState): Promise<string> {
  const weights = await model.params.toArrays();
  assertFinite(weights, 'weight');
  const tensors = new Map([...weights, ...(await adam.toArrays(TRAIN_STATE_PREFIX))]);
  const file = checkpointPath(outDir);
  const metadata: Record<string, string> = { [STATE_KEY]: JSON.stringify(state) };
  if (state.sig) metadata[SIG_KEY] = JSON.stringify(state.sig);
  if (state.init) metadata[INIT_KEY] = JSON.stringify(state.init);
  const tfile = await model.toTensorFile({ tensors, metadata });
  await writeTensorFile(file, tfile);
  return file;
}

/**
 * Removes the temp files a killed run left in `outDir` (src/util/atomic.ts names them
 * `.<file>.<pid>.<ms>.tmp`) for the checkpoint and weights, when their process is gone. The
 * checkpoint beside them is the last complete one; returns the names removed.
 */
export async function removeStaleTempFiles(outDir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.readdir(outDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^\.(?:checkpoint|tesg)\.safetensors\.(\d+)\.\d+\.tmp$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.rm(path.join(outDir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LoadedCheckpoint {
  model: TesgModel;
  adam: AdamW;
  state: TrainState;
}

export async function loadCheckpoint(outDir: string): Promise<LoadedCheckpoint> {
  const file = checkpointPath(outDir);
  if (!existsSync(file)) throw new TrainingError(`${file}: no checkpoint to resume from; run without --resume to start`);
  const tfile = await readTensorFile(file);
  const raw = tfile.metadata[STATE_KEY];
  if (!raw) throw new TrainingError(`${file}: a weights file without training state; it cannot be resumed`);
  const state = JSON.parse(raw) as TrainState;
  const model = TesgModel.fromTensorFile(tfile, file);
  const adam = new AdamW(state.adam.opts);
  adam.load(tfile.tensors, state.adam.t, TRAIN_STATE_PREFIX);
  return { model, adam, state };
}

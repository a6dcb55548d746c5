import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { TrainingError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { createProgress } from '../util/progress.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Rng } from './rng.js';
import type { SegSet } from './segdata.js';
import type { NamedArray } from '../model/params.js';
import { loadTorch } from '../runtime/torch.js';
import { initSegWeights, INPUT_MEAN, INPUT_STD, type SegNetConfig } from './segnet.js';
import { TorchSegStepper } from './segnet-torch.js';
import { TfjsSegStepper, type SegBatch, type SegStepper } from './segstep.js';

/**
 * Training of the segmentation benchmark network: Adam, poly learning-rate decay (DeepLab's schedule,
 * power 0.9), batches drawn with replacement by a seeded RNG, random horizontal flips. The budget is
 * a number of steps, the same for every method, so the comparison is of the images, not the effort.
 * Checkpoints hold weights, Adam state, step, RNG state and the loss log: --resume continues exactly.
 */
export interface SegTrainOptions {
  net: SegNetConfig;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  checkpointEvery: number;
  /** Folder for checkpoint.bin and train-log.csv. */
  outDir: string;
  resume: boolean;
  /** Recorded in the checkpoint; resuming with other data is an error. */
  dataId: string;
  /** Stop (with a checkpoint) once this step is reached: a long budget split over several runs. */
  stopAfter?: number;
  quiet?: boolean;
  /** tfjs (wasm; the default of this function) or torch (the native addon; ~6.7x faster per step). */
  backend?: SegBackend;
}

export type SegBackend = 'tfjs' | 'torch';

interface TrainMeta {
  step: number;
  rngState: number;
  adamStep: number;
  /** [step, loss, pixel accuracy of the batch] per step. */
  log: [number, number, number][];
  seconds: number;
  settings: { net: SegNetConfig; batch: number; lr: number; seed: number; steps: number; dataId: string; width: number; height: number };
}

export interface SegTrainResult {
  /** Holds the trained weights; the caller disposes it. */
  stepper: SegStepper;
  steps: number;
  seconds: number;
  log: [number, number, number][];
}

export const CHECKPOINT_FILE = 'checkpoint.bin';

/** One batch: normalised images and labels, flips applied per sample. */
function makeBatch(set: SegSet, idx: number[], flips: boolean[]): SegBatch {
  const { width: w, height: h } = set;
  const x = new Float32Array(idx.length * h * w * 3);
  const y = new Int32Array(idx.length * h * w);
  idx.forEach((n, b) => {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const dst = flips[b] ? w - 1 - c : c;
        const si = (n * h + r) * w + c, di = (b * h + r) * w + dst;
        y[di] = set.labels[si];
        for (let k = 0; k < 3; k++) x[di * 3 + k] = (set.images[si * 3 + k] / 255 - INPUT_MEAN) / INPUT_STD;
      }
    }
  });
  return { x, y, shape: [idx.length, h, w] };
}

function settingsOf(o: SegTrainOptions, set: SegSet): TrainMeta['settings'] {
  return { net: o.net, batch: o.batch, lr: o.lr, seed: o.seed, steps: o.steps, dataId: o.dataId, width: set.width, height: set.height };
}

/** A stepper for `backend` starting from `init`. */
export function makeSegStepper(backend: SegBackend, net: SegNetConfig, init: Map<string, NamedArray>): SegStepper {
  return backend === 'torch' ? new TorchSegStepper(loadTorch(), net, init) : new TfjsSegStepper(net, init);
}

/**
 * Train (or resume) to `o.steps` (or `o.stopAfter`). Returns the stepper holding the final weights
 * (the caller scores and disposes it).
 */
export async function trainSegmentation(set: SegSet, o: SegTrainOptions): Promise<SegTrainResult> {
  if (set.labelWidth !== set.width || set.labelHeight !== set.height) throw new Error('training labels must be at the network resolution');
  const ckFile = path.join(o.outDir, CHECKPOINT_FILE);
  const stepper = makeSegStepper(o.backend ?? 'tfjs', o.net, initSegWeights(o.net, o.seed));
  try {
    return await trainWith(stepper, set, o, ckFile);
  } catch (err) {
    stepper.dispose();
    throw err;
  }
}

async function trainWith(stepper: SegStepper, set: SegSet, o: SegTrainOptions, ckFile: string): Promise<SegTrainResult> {
  const rng = new Rng(o.seed ^ 0x5eed);
  let meta: TrainMeta = { step: 0, rngState: rng.state, adamStep: 0, log: [], seconds: 0, settings: settingsOf(o, set) };
  if (existsSync(ckFile)) {
    if (!o.resume) throw new UsageError(`${ckFile} exists: pass --resume to continue it, or choose another --out`);
    const ck = await loadCheckpoint<TrainMeta>(ckFile);
    const want = JSON.stringify(settingsOf(o, set)), got = JSON.stringify(ck.meta.settings);
    if (want !== got) throw new TrainingError(`${ckFile} was made with other settings (${got}); now ${want}. Use another --out or the same options`);
    const entries = ck.tensors.map(({ entry, data }) => {
      const [kind, ...rest] = entry.name.split(':');
      return { kind: kind as 'p' | 'm' | 'v', name: rest.join(':'), value: { shape: entry.shape, data } };
    });
    try {
      stepper.load(entries, ck.meta.adamStep);
    } catch (err) {
      throw new TrainingError(`${ckFile}: ${(err as Error).message}`);
    }
    meta = ck.meta;
    rng.state = meta.rngState;
  }
  const save = async () => {
    meta.rngState = rng.state;
    meta.adamStep = stepper.adamStep;
    const tensors = (await stepper.arrays()).map((a) => ({ entry: { name: `${a.kind}:${a.name}`, shape: a.value.shape }, data: a.value.data }));
    await saveCheckpoint(ckFile, { meta, tensors });
    await writeFileAtomic(path.join(o.outDir, 'train-log.csv'), 'step,loss,batch_pixel_accuracy\n' + meta.log.map((r) => r.join(',')).join('\n') + '\n');
  };

  const n = set.stems.length;
  const started = Date.now() - meta.seconds * 1000;
  await fs.mkdir(o.outDir, { recursive: true });
  const end = Math.min(o.steps, o.stopAfter ?? o.steps);
  const progress = o.quiet ? null : createProgress({ label: 'segment train', total: Math.max(0, end - meta.step) });
  while (meta.step < end) {
    const idx = Array.from({ length: o.batch }, () => rng.int(n));
    const flips = idx.map(() => rng.next() < 0.5);
    const lr = o.lr * (1 - meta.step / o.steps) ** 0.9;
    const { loss, accuracy } = await stepper.gradients(makeBatch(set, idx, flips));
    if (!Number.isFinite(loss)) {
      stepper.discard();
      throw new TrainingError(`loss became ${loss} at step ${meta.step + 1}; the last good checkpoint (${ckFile}) is kept; lower --lr`);
    }
    stepper.apply(lr);
    meta.step++;
    meta.log.push([meta.step, Number(loss.toFixed(5)), Number(accuracy.toFixed(4))]);
    meta.seconds = (Date.now() - started) / 1000;
    progress?.tick(1, `loss ${loss.toFixed(4)} acc ${accuracy.toFixed(3)}`);
    if (meta.step % o.checkpointEvery === 0 || meta.step === end) await save();
  }
  progress?.done();
  return { stepper, steps: meta.step, seconds: meta.seconds, log: meta.log };
}

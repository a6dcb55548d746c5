import * as tf from '@tensorflow/tfjs-core';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { TrainingError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { createProgress } from '../util/progress.js';
import { Adam } from './adam.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Rng } from './rng.js';
import type { SegSet } from './segdata.js';
import { crossEntropy, initSegParams, INPUT_MEAN, INPUT_STD, segForward, type SegNetConfig, type SegParams } from './segnet.js';

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
}

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
  params: SegParams;
  steps: number;
  seconds: number;
  log: [number, number, number][];
}

export const CHECKPOINT_FILE = 'checkpoint.bin';

/** Batch tensors: normalised images [B,H,W,3] and labels [B,H,W]; flips applied per sample. */
function makeBatch(set: SegSet, idx: number[], flips: boolean[]): { x: tf.Tensor4D; y: tf.Tensor3D } {
  const { width: w, height: h } = set;
  const xs = new Float32Array(idx.length * h * w * 3);
  const ys = new Int32Array(idx.length * h * w);
  idx.forEach((n, b) => {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const src = c;
        const dst = flips[b] ? w - 1 - c : c;
        const si = (n * h + r) * w + src, di = (b * h + r) * w + dst;
        ys[di] = set.labels[si];
        for (let k = 0; k < 3; k++) xs[di * 3 + k] = (set.images[si * 3 + k] / 255 - INPUT_MEAN) / INPUT_STD;
      }
    }
  });
  return { x: tf.tensor4d(xs, [idx.length, h, w, 3]), y: tf.tensor3d(ys, [idx.length, h, w], 'int32') };
}

function settingsOf(o: SegTrainOptions, set: SegSet): TrainMeta['settings'] {
  return { net: o.net, batch: o.batch, lr: o.lr, seed: o.seed, steps: o.steps, dataId: o.dataId, width: set.width, height: set.height };
}

export async function trainSegmentation(set: SegSet, o: SegTrainOptions): Promise<SegTrainResult> {
  if (set.labelWidth !== set.width || set.labelHeight !== set.height) throw new Error('training labels must be at the network resolution');
  const ckFile = path.join(o.outDir, CHECKPOINT_FILE);
  const params = initSegParams(o.net, o.seed);
  const adam = new Adam(params);
  const rng = new Rng(o.seed ^ 0x5eed);
  let meta: TrainMeta = { step: 0, rngState: rng.state, adamStep: 0, log: [], seconds: 0, settings: settingsOf(o, set) };
  if (existsSync(ckFile)) {
    if (!o.resume) throw new UsageError(`${ckFile} exists: pass --resume to continue it, or choose another --out`);
    const ck = await loadCheckpoint<TrainMeta>(ckFile);
    const want = JSON.stringify(settingsOf(o, set)), got = JSON.stringify(ck.meta.settings);
    if (want !== got) throw new TrainingError(`${ckFile} was made with other settings (${got}); now ${want}. Use another --out or the same options`);
    for (const { entry, data } of ck.tensors) {
      const [kind, ...rest] = entry.name.split(':');
      const name = rest.join(':');
      const target = kind === 'p' ? params.get(name) : kind === 'm' ? adam.m.get(name) : adam.v.get(name);
      if (!target) throw new TrainingError(`${ckFile}: unknown tensor ${entry.name}`);
      tf.tidy(() => target.assign(tf.tensor(data, entry.shape)));
    }
    meta = ck.meta;
    rng.state = meta.rngState;
    adam.step = meta.adamStep;
  }
  const save = async () => {
    meta.rngState = rng.state;
    meta.adamStep = adam.step;
    const tensors = [];
    for (const [kind, map] of [['p', params], ['m', adam.m], ['v', adam.v]] as const) {
      for (const [name, t] of map) tensors.push({ entry: { name: `${kind}:${name}`, shape: t.shape }, data: (await t.data()) as Float32Array });
    }
    await saveCheckpoint(ckFile, { meta, tensors });
    await writeFileAtomic(path.join(o.outDir, 'train-log.csv'), 'step,loss,batch_pixel_accuracy\n' + meta.log.map((r) => r.join(',')).join('\n') + '\n');
  };

  const names = [...params.keys()];
  const vars = names.map((n) => params.get(n)!);
  const n = set.stems.length;

  const started = Date.now() - meta.seconds * 1000;
  await fs.mkdir(o.outDir, { recursive: true });
  const end = Math.min(o.steps, o.stopAfter ?? o.steps);
  const progress = o.quiet ? null : createProgress({ label: 'segment train', total: Math.max(0, end - meta.step) });
  while (meta.step < end) {
    const idx = Array.from({ length: o.batch }, () => rng.int(n));
    const flips = idx.map(() => rng.next() < 0.5);
    const lr = o.lr * (1 - meta.step / o.steps) ** 0.9;
    const { x, y } = makeBatch(set, idx, flips);
    const accBox: { t?: tf.Scalar } = {};
    const { value, grads } = tf.variableGrads(() => {
      const logits = segForward(params, o.net, x);
      // Batch pixel accuracy for the progress line; kept out of variableGrads' own disposal.
      accBox.t = tf.keep(tf.mean(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'float32')) as tf.Scalar);
      return crossEntropy(logits, y, o.net.classes);
    }, vars);
    const loss = (await value.data())[0];
    const acc = accBox.t!;
    const accV = (await acc.data())[0];
    if (!Number.isFinite(loss)) {
      tf.dispose([x, y, value, acc, ...Object.values(grads)]);
      throw new TrainingError(`loss became ${loss} at step ${meta.step + 1}; the last good checkpoint (${ckFile}) is kept; lower --lr`);
    }
    const byName: Record<string, tf.Tensor> = {};
    names.forEach((nm, i) => (byName[nm] = grads[vars[i].name]));
    adam.apply(params, byName, lr);
    tf.dispose([x, y, value, acc, ...Object.values(grads)]);
    meta.step++;
    meta.log.push([meta.step, Number(loss.toFixed(5)), Number(accV.toFixed(4))]);
    meta.seconds = (Date.now() - started) / 1000;
    progress?.tick(1, `loss ${loss.toFixed(4)} acc ${accV.toFixed(3)}`);
    if (meta.step % o.checkpointEvery === 0 || meta.step === end) await save();
  }
  progress?.done();
  adam.dispose();
  return { params, steps: meta.step, seconds: meta.seconds, log: meta.log };
}

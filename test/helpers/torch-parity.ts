/**
 * Shared set-up of the libtorch-vs-tfjs tests (test/runtime-torch-train.test.ts for tesg-v1's
 * configs, test/runtime-torch-unet.test.ts for the U-shapes): the addon (or the reason it is
 * unavailable, for `skip`), the network's forward pass on both backends with the same weights and
 * inputs, and one batch's loss and every parameter gradient on both. The tests keep their own
 * assertions and tolerances; this file only computes and returns plain arrays (every tensor it
 * makes is disposed before it returns).
 */
import { tf } from '../../src/model/tfjs.js';
import { initBackend } from '../../src/runtime/backend.js';
import type { ModelConfig } from '../../src/model/config.js';
import { viChannels } from '../../src/model/config.js';
import { TesgModel } from '../../src/model/model.js';
import { tesgNetwork } from '../../src/model/network.js';
import { TorchOps, TorchParamStore } from '../../src/model/ops-torch.js';
import { loadTorch, torchUnavailableReason } from '../../src/runtime/torch.js';
import type { TorchAddon } from '../../src/runtime/torch.js';
import { DEFAULT_ADAMW } from '../../src/training/adamw.js';
import type { Batch } from '../../src/training/data.js';
import { BatchSampler } from '../../src/training/data.js';
import { DEFAULT_LOSS_WEIGHTS, type LossWeights } from '../../src/training/losses.js';
import { localGradients } from '../../src/training/trainer.js';
import { TorchTrainStep } from '../../src/training/torch-step.js';
import { randomFloats, syntheticData } from './model-fixtures.js';

/** tfjs on its CPU backend, and the libtorch addon: `skip` is the reason it is unavailable (else false, and `torch` is loaded). */
export async function torchAndTfjsCpu(): Promise<{ skip: string | false; torch: TorchAddon | null }> {
  const skip = torchUnavailableReason() ?? false;
  await initBackend('cpu');
  return { skip, torch: skip ? null : loadTorch() };
}

/** ||a - b|| / ||b|| (b's norm floored at 1e-12). */
export function relNorm(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-12);
}

/** max |a[i] - b[i]| over a's length. */
export function maxAbs(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** A training batch of `size` crops of `crop` px (seed `seed`) from 3 synthetic 24x20 pairs. */
export async function batchOf(size: number, crop: number, seed: number): Promise<Batch> {
  const data = syntheticData(3, 24, 20);
  return new BatchSampler(data.pairs, data.load, { batch: size, crop, seed }).next();
}

export interface ForwardParity {
  /** The model's whole config (cfg over the defaults). */
  config: ModelConfig;
  /** NHWC shape of the torch output. */
  shape: number[];
  /** The two outputs, NHWC, each b*h*w*channels values. */
  torch: Float32Array;
  tfjs: Float32Array;
  /** Parameter names of the torch store and of the tfjs model, sorted. */
  torchParams: string[];
  tfjsParams: string[];
}

/**
 * The whole network (TesgModel.create(cfg, 3)) on tfjs-cpu and on libtorch with the tfjs model's
 * weights, on a batch of `b` random h x w inputs: IR and VI in 0..1 (seeds 1, 2), a binary mask
 * (1 where a uniform -1..1 draw exceeds `maskAbove`, seed 3), F_t uniform in -1..1 (seed 4).
 */
export async function forwardParity(t: TorchAddon, cfg: Partial<ModelConfig>, [b, h, w]: [number, number, number], maskAbove: number): Promise<ForwardParity> {
  const model = TesgModel.create(cfg, 3);
  const c = model.config;
  const vc = viChannels(c);
  const data = {
    ir: randomFloats(b * h * w, 1, 0.5).map((v) => v + 0.5),
    vi: randomFloats(b * h * w * vc, 2, 0.5).map((v) => v + 0.5),
    mask: randomFloats(b * h * w, 3).map((v) => (v > maskAbove ? 1 : 0)),
    text: randomFloats(b * c.text_tokens * c.text_dim, 4),
  };
  const shapes = { ir: [b, h, w, 1], vi: [b, h, w, vc], mask: [b, h, w, 1], text: [b, c.text_tokens, c.text_dim] };
  const ref = tf.tidy(() => {
    const inp = { ir: tf.tensor(data.ir, shapes.ir), vi: tf.tensor(data.vi, shapes.vi), mask: tf.tensor(data.mask, shapes.mask), text: tf.tensor(data.text, shapes.text) };
    return model.forward(inp).dataSync() as Float32Array;
  });
  const params = TorchParamStore.fromArrays(t, await model.params.toArrays());
  const ops = new TorchOps(t, params);
  const inp = { ir: t.fromFloat32(data.ir, shapes.ir), vi: t.fromFloat32(data.vi, shapes.vi), mask: t.fromFloat32(data.mask, shapes.mask), text: t.fromFloat32(data.text, shapes.text) };
  try {
    const out = tesgNetwork(ops, c, inp);
    return {
      config: c,
      shape: out.shape,
      torch: out.toFloat32(),
      tfjs: ref,
      torchParams: [...params.vars.keys()].sort(),
      tfjsParams: [...model.params.vars.keys()].sort(),
    };
  } finally {
    ops.release();
    for (const x of Object.values(inp)) x.dispose();
    params.dispose();
    model.dispose();
  }
}

type LossTerms = { total: number; ssim: number; intensity: number; gradient: number; color: number; teacher?: number };

export interface GradientParity {
  /** tfjs-cpu (localGradients, the whole batch at once): the loss terms and every parameter's gradient. */
  tfjs: { losses: LossTerms; grads: Map<string, Float32Array> };
  /**
   * libtorch (TorchTrainStep.gradients with micro-batches of 1): the loss terms, the gradient norm
   * it reports, and the gradient of every parameter of its store (null where it has none).
   */
  torch: { losses: LossTerms; gradNorm: number; grads: Map<string, Float32Array | null> };
}

/** Loss and parameter gradients of `batch` (DEFAULT_LOSS_WEIGHTS) for `model`'s weights on both backends; `model` stays alive. */
export async function gradientParity(t: TorchAddon, model: TesgModel, batch: Batch, weights: LossWeights = DEFAULT_LOSS_WEIGHTS): Promise<GradientParity> {
  const ref = await localGradients(model, batch, weights);
  const step = TorchTrainStep.create({ config: model.config, weights: await model.params.toArrays(), adam: DEFAULT_ADAMW }, t);
  try {
    const { losses, gradNorm } = step.gradients(batch, weights, 1);
    const grads = new Map<string, Float32Array | null>();
    for (const [name, v] of step.params.vars) {
      const g = v.grad();
      grads.set(name, g ? g.toFloat32() : null);
      g?.dispose();
    }
    const tfjsGrads = new Map([...ref.grads].map(([name, g]) => [name, Float32Array.from(g.dataSync() as Float32Array)] as const));
    return { tfjs: { losses: { ...ref.losses }, grads: tfjsGrads }, torch: { losses, gradNorm, grads } };
  } finally {
    tf.dispose([...ref.grads.values()]);
    step.dispose();
  }
}

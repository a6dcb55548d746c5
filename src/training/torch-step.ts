import { UsageError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import { sizeMultiple, viChannels } from '../model/config.js';
import { tesgNetwork } from '../model/network.js';
import { TorchOps, TorchParamStore } from '../model/ops-torch.js';
import type { NamedArray } from '../model/params.js';
import type { TorchAddon, TorchTensor } from '../runtime/torch.js';
import { loadTorch } from '../runtime/torch.js';
import { adamwConstants, type AdamWOptions } from './adamw.js';
import type { Batch } from './data.js';
import type { LossWeights } from './losses.js';

/**
 * One training step on libtorch: the network definition (src/model/network.ts) run through TorchOps,
 * the fusion loss (native/src/loss.cc, the maths of ./losses.ts), backward, and AdamW with the
 * float32 arithmetic of ./adamw.ts. Weights and optimizer moments go in and out as the same named
 * arrays the tfjs trainer checkpoints, so a run can switch backends at any checkpoint.
 */
export interface TorchLossValues {
  total: number;
  ssim: number;
  intensity: number;
  gradient: number;
  color: number;
  /** Distillation: mean((Y_F - Y_teacher)^2), unweighted (the total has it times W); only with a teacher. */
  teacher?: number;
}

export interface TorchStepInit {
  config: ModelConfig;
  /** Parameters by name (tfjs layouts); every parameter of the network must be present. */
  weights: Map<string, NamedArray>;
  adam: AdamWOptions;
  /** Steps already taken (AdamW's t) and, when resuming, the moments "optim.m.<name>" / "optim.v.<name>". */
  adamT?: number;
  adamArrays?: Map<string, NamedArray>;
  /** libtorch intra-op threads (default: leave libtorch's setting). */
  threads?: number;
}

export const OPTIM_PREFIX = 'optim.';

export class TorchTrainStep {
  /** AdamW steps taken. */
  t: number;
  readonly opts: AdamWOptions;
  private readonly m = new Map<string, TorchTensor>();
  private readonly v = new Map<string, TorchTensor>();

  private constructor(
    private readonly torch: TorchAddon,
    readonly config: ModelConfig,
    readonly params: TorchParamStore,
    private readonly ops: TorchOps,
    init: TorchStepInit,
  ) {
    this.opts = { ...init.adam };
    this.t = init.adamT ?? 0;
    if (init.adamArrays) this.loadMoments(init.adamArrays);
  }

  static create(init: TorchStepInit, torch: TorchAddon = loadTorch()): TorchTrainStep {
    if (init.threads !== undefined) torch.setNumThreads(init.threads);
    const params = TorchParamStore.fromArrays(torch, init.weights);
    const step = new TorchTrainStep(torch, init.config, params, new TorchOps(torch, params), init);
    step.checkWeights();
    return step;
  }

  /** A new model with the seeded initial values of ParamStore (the same numbers TesgModel.create(config, seed) gets). */
  static createNew(config: ModelConfig, seed: number, adam: AdamWOptions, threads?: number, torch: TorchAddon = loadTorch()): TorchTrainStep {
    if (threads !== undefined) torch.setNumThreads(threads);
    const params = new TorchParamStore(torch, 'create', seed);
    const step = new TorchTrainStep(torch, config, params, new TorchOps(torch, params), { config, weights: new Map(), adam });
    step.checkWeights();
    params.freeze();
    return step;
  }

  /** Runs the definition once without a graph: every parameter must exist with its shape and be used. */
  private checkWeights(): void {
    const c = this.config;
    const prev = this.torch.setGradEnabled(false);
    const s = Math.max(4, sizeMultiple(c)); // the U-shape halves the size per level
    const inp = [
      this.torch.fromFloat32(new Float32Array(s * s), [1, s, s, 1]),
      this.torch.fromFloat32(new Float32Array(s * s * viChannels(c)), [1, s, s, viChannels(c)]),
      this.torch.fromFloat32(new Float32Array(s * s), [1, s, s, 1]),
      this.torch.fromFloat32(new Float32Array(c.text_tokens * c.text_dim), [1, c.text_tokens, c.text_dim]),
    ];
    try {
      tesgNetwork(this.ops, c, { ir: inp[0], vi: inp[1], mask: inp[2], text: inp[3] });
    } finally {
      this.ops.release();
      for (const t of inp) t.dispose();
      this.torch.setGradEnabled(prev);
    }
    const unused = [...this.params.vars.keys()].filter((n) => !this.params.used.has(n));
    if (unused.length > 0) throw new UsageError(`weights the network does not use: ${unused.slice(0, 5).join(', ')}`);
  }

  /**
   * Loss and parameter gradients of one batch, accumulated over micro-batches of `microBatch`
   * samples (each loss term is a mean, so the mean of the parts equals the whole batch's).
   * Gradients stay on the parameters for `update`; returns the loss terms and the gradient norm.
   */
  gradients(batch: Batch, weights: LossWeights, microBatch = batch.size): { losses: TorchLossValues; gradNorm: number } {
    if (batch.size % microBatch !== 0) throw new UsageError(`--micro-batch ${microBatch} must divide --batch ${batch.size}`);
    const parts = batch.size / microBatch;
    this.params.zeroGrad();
    const sum: TorchLossValues = { total: 0, ssim: 0, intensity: 0, gradient: 0, color: 0, ...(batch.teacher && weights.teacher ? { teacher: 0 } : {}) };
    for (let i = 0; i < parts; i++) {
      const terms = this.lossOf(sliceBatch(batch, i * microBatch, microBatch), weights, 1 / parts);
      for (const k of Object.keys(sum) as (keyof TorchLossValues)[]) sum[k] = (sum[k] ?? 0) + (terms[k] ?? 0) / parts;
    }
    return { losses: sum, gradNorm: this.torch.gradNorm([...this.params.vars.values()]) };
  }

  /** Forward, loss and backward (scaled) of one micro-batch; frees everything but the gradients. */
  private lossOf(b: Batch, w: LossWeights, scale: number): TorchLossValues {
    const { torch, config: c } = this;
    const s = [b.size, b.crop, b.crop];
    const ir = torch.fromFloat32(b.ir, [...s, 1]);
    const vi = torch.fromFloat32(b.vi, [...s, 3]);
    const mask = torch.fromFloat32(b.mask, [...s, 1]);
    const text = torch.fromFloat32(b.text, [b.size, c.text_tokens, c.text_dim]);
    const viIn = c.vi_input === 'rgb' ? vi : torch.rgbToY(vi);
    let loss: ReturnType<TorchAddon['fusionLoss']> | null = null;
    const extra: TorchTensor[] = [];
    let teacher: number | undefined;
    try {
      const out = tesgNetwork(this.ops, c, { ir, vi: viIn, mask, text });
      loss = torch.fusionLoss(out, c.output === 'rgb', ir, vi, [w.ssim, w.intensity, w.gradient, w.color]);
      let total = loss.total;
      if (b.teacher && w.teacher) {
        // distillation: + w.teacher * mean((Y_F - Y_teacher)^2), as teacherTerm in ./trainer.ts (tfjs)
        const keep = (t: TorchTensor) => (extra.push(t), t);
        const y = c.output === 'rgb' ? keep(torch.rgbToY(out)) : out;
        const d = keep(torch.sub(y, keep(torch.fromFloat32(b.teacher, [...s, 1]))));
        const mse = keep(torch.mul(keep(torch.sum(keep(torch.mul(d, d)))), keep(torch.scalar(1 / b.teacher.length))));
        total = keep(torch.add(total, keep(torch.mul(mse, keep(torch.scalar(w.teacher))))));
        teacher = mse.item();
      }
      total.backward(scale);
      return { total: total.item(), ssim: loss.ssim.item(), intensity: loss.intensity.item(), gradient: loss.gradient.item(), color: loss.color.item(), ...(teacher !== undefined ? { teacher } : {}) };
    } finally {
      for (const t of extra) t.dispose();
      if (loss) for (const t of Object.values(loss)) t.dispose();
      this.ops.release();
      for (const t of new Set([ir, vi, mask, text, viIn])) t.dispose();
    }
  }

  /** One AdamW update from the current gradients (as AdamW.step in ./adamw.ts), then clears them. */
  update(): void {
    this.t += 1;
    const names = [...this.params.vars.keys()].filter((n) => {
      const g = this.params.vars.get(n)!.grad();
      g?.dispose();
      return g !== null;
    });
    const ps = names.map((n) => this.params.vars.get(n)!);
    const k = adamwConstants(this.opts, this.t);
    this.torch.adamwStep(ps, names.map((n) => this.moment(this.m, n)), names.map((n) => this.moment(this.v, n)), k);
    this.params.zeroGrad();
  }

  private moment(store: Map<string, TorchTensor>, name: string): TorchTensor {
    let s = store.get(name);
    if (!s) {
      const p = this.params.vars.get(name)!;
      s = this.torch.fromFloat32(new Float32Array(p.shape.reduce((a, b) => a * b, 1)), p.shape);
      store.set(name, s);
    }
    return s;
  }

  /** The current gradients by name (after `gradients`), as copies; then clears them. */
  gradientArrays(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const [name, p] of this.params.vars) {
      const g = p.grad();
      if (!g) continue;
      out.set(name, { shape: [...g.shape], data: g.toFloat32() });
      g.dispose();
    }
    this.params.zeroGrad();
    return out;
  }

  /** Weights by name (the map ParamStore.set / checkpoints take). */
  weights(): Map<string, NamedArray> {
    return this.params.toArrays();
  }

  setWeights(arrays: Map<string, NamedArray>): void {
    for (const [name, a] of arrays) if (!name.startsWith(OPTIM_PREFIX)) this.params.set(name, a);
  }

  /** Moments as AdamW.toArrays names them ("optim.m.<param>", "optim.v.<param>"). */
  momentArrays(prefix = OPTIM_PREFIX): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const [kind, store] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of store) out.set(`${prefix}${kind}.${name}`, { shape: [...t.shape], data: t.toFloat32() });
    }
    return out;
  }

  /** Restores moments saved by `momentArrays` or AdamW.toArrays (other keys are ignored). */
  loadMoments(arrays: Map<string, NamedArray>, prefix = OPTIM_PREFIX): void {
    for (const s of [this.m, this.v]) {
      for (const t of s.values()) t.dispose();
      s.clear();
    }
    for (const [key, a] of arrays) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const store = rest.startsWith('m.') ? this.m : rest.startsWith('v.') ? this.v : null;
      if (store) store.set(rest.slice(2), this.torch.fromFloat32(a.data, a.shape));
    }
  }

  dispose(): void {
    this.ops.release();
    this.params.dispose();
    for (const s of [this.m, this.v]) {
      for (const t of s.values()) t.dispose();
      s.clear();
    }
  }
}


/** Samples [from, from + n) of a batch (views, no copy). */
export function sliceBatch(b: Batch, from: number, n: number): Batch {
  if (from === 0 && n === b.size) return b;
  const cut = (a: Float32Array) => {
    const per = a.length / b.size;
    return a.subarray(from * per, (from + n) * per);
  };
  return { ...b, size: n, ir: cut(b.ir), vi: cut(b.vi), mask: cut(b.mask), text: cut(b.text), stems: b.stems.slice(from, from + n), ...(b.teacher ? { teacher: cut(b.teacher) } : {}) };
}

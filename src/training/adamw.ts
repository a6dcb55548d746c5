import { tf } from '../model/tfjs.js';
import type { NamedArray } from '../model/params.js';
import type { AdamWConstants } from '../runtime/torch.js';

/**
 * AdamW (Loshchilov & Hutter), exactly as torch.optim.AdamW: decoupled weight decay
 *   p <- p - lr * wd * p
 *   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * tfjs-core has Adam but no AdamW, and its optimizers keep state we could not checkpoint by name.
 */
export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** torch's AdamW defaults, with the paper's learning rate. */
export const DEFAULT_ADAMW: Readonly<AdamWOptions> = Object.freeze({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });

export class AdamW {
  /** Steps taken (t in the bias corrections). */
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(readonly opts: AdamWOptions = { ...DEFAULT_ADAMW }) {}

  /** One update of every parameter in `params` that has a gradient in `grads` (both keyed by name). */
  step(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.opts;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      const m = this.moment(this.m, name, p);
      const v = this.moment(this.v, name, p);
      tf.tidy(() => {
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const decayed = tf.mul(p, 1 - lr * weightDecay);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = store.get(name);
    if (!s) {
      s = tf.tidy(() => tf.variable(tf.zerosLike(like), false));
      store.set(name, s);
    }
    return s;
  }

  /** Moments as named arrays ("optim.m.<param>", "optim.v.<param>") for a checkpoint. */
  async toArrays(prefix = 'optim.'): Promise<Map<string, NamedArray>> {
    const out = new Map<string, NamedArray>();
    for (const [kind, store] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of store) out.set(`${prefix}${kind}.${name}`, { shape: [...t.shape], data: (await t.data()) as Float32Array });
    }
    return out;
  }

  /** Restore moments saved by `toArrays`, and the step count. */
  load(arrays: Map<string, NamedArray>, t: number, prefix = 'optim.'): void {
    this.dispose();
    this.t = t;
    for (const [key, arr] of arrays) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const kind = rest.slice(0, 2);
      const store = kind === 'm.' ? this.m : kind === 'v.' ? this.v : null;
      if (!store) continue;
      store.set(rest.slice(2), tf.tidy(() => tf.variable(tf.tensor(arr.data, arr.shape), false)));
    }
  }

  dispose(): void {
    for (const s of [this.m, this.v]) {
      for (const t of s.values()) t.dispose();
      s.clear();
    }
  }
}

/** The scalars of AdamW step t for the libtorch addon's adamwStep, in double exactly as AdamW.step computes them. */
export function adamwConstants(o: AdamWOptions, t: number): AdamWConstants {
  return {
    beta1: o.beta1,
    oneMinusBeta1: 1 - o.beta1,
    beta2: o.beta2,
    oneMinusBeta2: 1 - o.beta2,
    bc1: 1 - o.beta1 ** t,
    bc2: 1 - o.beta2 ** t,
    decay: 1 - o.lr * o.weightDecay,
    lr: o.lr,
    eps: o.eps,
  };
}

import { tf } from '../runtime/tfjs-node.cjs';
import type { NamedArray } from '../model/params.js';
import { AdamW } from '../training/adamw.js';
import { crossEntropy, segForward, segParamsFromArrays, type SegNetConfig, type SegParams } from './segnet.js';

/** One batch: normalised images [B, H, W, 3] and class indices [B, H, W], row-major. */
export interface SegBatch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number];
}

export interface SegArray {
  kind: 'p' | 'm' | 'v';
  name: string;
  value: NamedArray;
}

/**
 * What the training loop (./segtrain.ts) needs of a backend: gradients of one batch, an Adam update,
 * and the weights and Adam moments as arrays (the checkpoint). Both backends run the same network
 * (segnet.ts's segNetwork) and the same Adam maths, float32 op by op, so a checkpoint moves between them.
 */
export interface SegStepper {
  readonly backend: string;
  /** Loss and batch pixel accuracy; gradients are kept for `apply` (or dropped by `discard`). */
  gradients(b: SegBatch): Promise<{ loss: number; accuracy: number }>;
  apply(lr: number): void;
  discard(): void;
  /** Copies of the gradients `gradients` left, by parameter name (parity checks). */
  gradientArrays(): Promise<Map<string, NamedArray>>;
  /** Adam steps taken (t of the bias corrections). */
  readonly adamStep: number;
  /** Weights ("p"), first ("m") and second ("v") moments by parameter name (the checkpoint). */
  arrays(): Promise<SegArray[]>;
  /** Restores what `arrays` gave (from either backend) and the Adam step. */
  load(entries: SegArray[], adamStep: number): void;
  /** The weights as tfjs variables (for scoring); the caller disposes them. */
  tfjsParams(): Promise<SegParams>;
  dispose(): void;
}

/** Adam as the training's AdamW with no weight decay (the learning rate is set per step). */
export const SEG_ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;

/** tfjs (wasm) backend: tf.variableGrads and src/training/adamw.ts. */
export class TfjsSegStepper implements SegStepper {
  readonly backend = 'tfjs';
  private readonly params: SegParams;
  private readonly adam = new AdamW({ ...SEG_ADAM, lr: 0 });
  private grads: Map<string, tf.Tensor> | null = null;

  constructor(private readonly net: SegNetConfig, init: Map<string, NamedArray>) {
    this.params = segParamsFromArrays(init);
  }

  get adamStep(): number {
    return this.adam.t;
  }

  async gradients(b: SegBatch): Promise<{ loss: number; accuracy: number }> {
    const x = tf.tensor4d(b.x, [...b.shape, 3]);
    const y = tf.tensor3d(b.y, b.shape, 'int32');
    const names = [...this.params.keys()];
    const vars = names.map((n) => this.params.get(n)!);
    const accBox: { t?: tf.Scalar } = {};
    const { value, grads } = tf.variableGrads(() => {
      const logits = segForward(this.params, this.net, x);
      // Batch pixel accuracy for the progress line; kept out of variableGrads' own disposal.
      accBox.t = tf.keep(tf.mean(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'float32')) as tf.Scalar);
      return crossEntropy(logits, y, this.net.classes);
    }, vars);
    const loss = (await value.data())[0];
    const accuracy = (await accBox.t!.data())[0];
    tf.dispose([x, y, value, accBox.t!]);
    this.grads = new Map(names.map((nm, i) => [nm, grads[vars[i].name]]));
    return { loss, accuracy };
  }

  apply(lr: number): void {
    this.adam.opts.lr = lr;
    this.adam.step(this.params, this.grads!);
    this.discard();
  }

  async gradientArrays(): Promise<Map<string, NamedArray>> {
    const out = new Map<string, NamedArray>();
    for (const [name, g] of this.grads ?? []) out.set(name, { shape: [...g.shape], data: (await g.data()) as Float32Array });
    return out;
  }

  discard(): void {
    if (this.grads) tf.dispose([...this.grads.values()]);
    this.grads = null;
  }

  async arrays(): Promise<{ kind: 'p' | 'm' | 'v'; name: string; value: NamedArray }[]> {
    const out: SegArray[] = [];
    for (const [name, t] of this.params) out.push({ kind: 'p', name, value: { shape: [...t.shape], data: (await t.data()) as Float32Array } });
    for (const [key, value] of await this.adam.toArrays('')) out.push({ kind: key[0] as 'm' | 'v', name: key.slice(2), value });
    return out;
  }

  load(entries: SegArray[], adamStep: number): void {
    const moments = new Map<string, NamedArray>();
    for (const { kind, name, value } of entries) {
      if (kind !== 'p') {
        if (!this.params.has(name)) throw new Error(`unknown tensor ${kind}:${name}`);
        moments.set(`${kind}.${name}`, value);
        continue;
      }
      const target = this.params.get(name);
      if (!target) throw new Error(`unknown tensor ${kind}:${name}`);
      tf.tidy(() => target.assign(tf.tensor(value.data, value.shape)));
    }
    this.adam.load(moments, adamStep, '');
  }

  async tfjsParams(): Promise<SegParams> {
    // Copies of the weights only (not the Adam moments): the caller owns and disposes them.
    const params: SegParams = new Map();
    for (const [name, v] of this.params) params.set(name, tf.tidy(() => tf.variable(v.clone(), true)));
    return params;
  }

  dispose(): void {
    this.discard();
    this.adam.dispose();
    tf.dispose([...this.params.values()]);
  }
}

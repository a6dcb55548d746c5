import type { Ops, ParamInit } from './ops.js';
import { L2_NORM_EPS, LAYER_NORM_EPS } from './ops.js';
import type { NamedArray } from './params.js';
import { initialValues } from './params.js';
import type { TorchAddon, TorchTensor } from '../runtime/torch.js';

type T = TorchTensor;

/**
 * The network's parameters as libtorch leaf tensors (requires_grad), under the same names, shapes
 * (tfjs layouts, see ops.ts) and seeded initial values as ParamStore, so a weights map moves between
 * the tfjs and the torch model unchanged.
 */
export class TorchParamStore {
  readonly vars = new Map<string, T>();
  readonly used = new Set<string>();

  constructor(
    private readonly torch: TorchAddon,
    private mode: 'create' | 'strict',
    private readonly seed = 0,
  ) {}

  static fromArrays(torch: TorchAddon, arrays: Map<string, NamedArray>): TorchParamStore {
    const s = new TorchParamStore(torch, 'strict');
    for (const [name, a] of arrays) s.set(name, a);
    return s;
  }

  get(name: string, shape: number[], init: ParamInit): T {
    this.used.add(name);
    const v = this.vars.get(name);
    if (v) {
      if (!sameShape(v.shape, shape)) throw new Error(`parameter ${name}: the network wants shape [${shape}], the weights have [${v.shape}]`);
      return v;
    }
    if (this.mode === 'strict') throw new Error(`parameter ${name} [${shape}] is missing from the weights`);
    const t = this.torch.fromFloat32(initialValues(name, shape, init, this.seed), shape, true);
    this.vars.set(name, t);
    return t;
  }

  freeze(): void {
    this.mode = 'strict';
  }

  /** Replace a parameter's values (same shape), or add it. */
  set(name: string, a: NamedArray): void {
    const old = this.vars.get(name);
    if (old) {
      if (!sameShape(old.shape, a.shape)) throw new Error(`parameter ${name}: shape [${a.shape}] != [${old.shape}]`);
      old.assign(a.data);
    } else {
      this.vars.set(name, this.torch.fromFloat32(a.data, a.shape, true));
    }
  }

  /** Copy of every parameter, sorted by name (the order ParamStore.toArrays uses). */
  toArrays(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const name of [...this.vars.keys()].sort()) {
      const v = this.vars.get(name)!;
      out.set(name, { shape: [...v.shape], data: v.toFloat32() });
    }
    return out;
  }

  zeroGrad(): void {
    for (const v of this.vars.values()) v.zeroGrad();
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The libtorch implementation of the network's ops (native/src/ops.cc): NHWC feature maps as on
 * tfjs, autograd recording whatever runs while grad mode is on. Every tensor an op returns goes into
 * an arena: `scope` drops the handles made inside it except its result (autograd keeps what the
 * backward pass needs), and `release` drops the rest, so memory does not wait for the JS GC.
 */
export class TorchOps implements Ops<T> {
  private arena: T[] = [];

  constructor(
    private readonly torch: TorchAddon,
    private readonly params: TorchParamStore,
  ) {}

  private own(t: T): T {
    this.arena.push(t);
    return t;
  }

  param(name: string, shape: number[], init: ParamInit): T {
    return this.params.get(name, shape, init);
  }

  scope<R extends T | T[]>(_name: string, fn: () => R): R {
    const mark = this.arena.length;
    const r = fn();
    const keep = new Set<T>(Array.isArray(r) ? r : [r]);
    const made = this.arena.splice(mark);
    for (const t of made) {
      if (keep.has(t)) this.arena.push(t);
      else t.dispose();
    }
    return r;
  }

  /** Dispose every tensor the ops returned since the last release (after backward, or after inference). */
  release(): void {
    for (const t of this.arena) t.dispose();
    this.arena = [];
  }

  constant(value: number): T {
    return this.own(this.torch.scalar(value));
  }
  conv2d(x: T, weight: T, bias: T | null, pad: number): T {
    return this.own(this.torch.conv2d(x, weight, bias, pad));
  }
  depthwiseConv2d(x: T, weight: T, bias: T | null, pad: number): T {
    return this.own(this.torch.depthwiseConv2d(x, weight, bias, pad));
  }
  downConv(x: T, weight: T, bias: T | null): T {
    return this.own(this.torch.downConv(x, weight, bias));
  }
  upsample2x(x: T): T {
    return this.own(this.torch.upsample2x(x));
  }
  maxPool(x: T, factor: number): T {
    return this.own(this.torch.maxPool(x, factor));
  }
  add(a: T, b: T): T {
    return this.own(this.torch.add(a, b));
  }
  sub(a: T, b: T): T {
    return this.own(this.torch.sub(a, b));
  }
  mul(a: T, b: T): T {
    return this.own(this.torch.mul(a, b));
  }
  sigmoid(x: T): T {
    return this.own(this.torch.sigmoid(x));
  }
  relu(x: T): T {
    return this.own(this.torch.relu(x));
  }
  gelu(x: T): T {
    return this.own(this.torch.gelu(x));
  }
  layerNorm(x: T, weight: T, bias: T | null, eps = LAYER_NORM_EPS): T {
    return this.own(this.torch.layerNorm(x, weight, bias, eps));
  }
  layerNormTokens(t: T, weight: T, bias: T | null, eps = LAYER_NORM_EPS): T {
    return this.own(this.torch.layerNorm(t, weight, bias, eps));
  }
  linear(t: T, weight: T, bias: T | null): T {
    return this.own(this.torch.linear(t, weight, bias));
  }
  concatChannels(xs: T[]): T {
    return this.own(this.torch.concat(xs, -1));
  }
  sliceAxis(x: T, axis: number, start: number, size: number): T {
    return this.own(this.torch.slice(x, axis, start, size));
  }
  channelAttention(q: T, k: T, v: T, temperature: T, heads: number, eps = L2_NORM_EPS): T {
    return this.own(this.torch.channelAttention(q, k, v, temperature, heads, eps));
  }
  tokenAttention(q: T, k: T, v: T, heads: number): T {
    return this.own(this.torch.tokenAttention(q, k, v, heads));
  }
}

import { tf } from './tfjs.js';
import type { ParamInit } from './ops.js';

/** A parameter as stored on disk: shape and row-major float32 values. */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/**
 * The flat, named parameter map of a model (e.g. "enc_ir.blocks.0.attn.qkv.weight" -> variable).
 * In `create` mode a missing parameter is made with its seeded initialiser, which is how a new model
 * gets its parameters: one forward pass of the network definition on a tiny input (so the shapes come
 * from the one definition, never from a second list). In `strict` mode (loaded weights) a missing
 * name or a wrong shape is an error.
 */
export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();
  /** Names asked for since the last `resetUsage`, to find unused weights in a file. */
  readonly used = new Set<string>();

  constructor(
    private mode: 'create' | 'strict',
    private readonly seed = 0,
  ) {}

  get(name: string, shape: number[], init: ParamInit): tf.Variable {
    this.used.add(name);
    const v = this.vars.get(name);
    if (v) {
      if (!sameShape(v.shape, shape)) {
        throw new Error(`parameter ${name}: the network wants shape [${shape}], the weights have [${v.shape}]`);
      }
      return v;
    }
    if (this.mode === 'strict') throw new Error(`parameter ${name} [${shape}] is missing from the weights`);
    const created = tf.tidy(() => tf.variable(tf.tensor(initialValues(name, shape, init, this.seed), shape), true));
    this.vars.set(name, created);
    return created;
  }

  /** Stop creating: from now on a name the weights lack is an error. */
  freeze(): void {
    this.mode = 'strict';
  }

  /** Replace a parameter's values (same shape), or add it. */
  set(name: string, arr: NamedArray): void {
    const old = this.vars.get(name);
    if (old) {
      if (!sameShape(old.shape, arr.shape)) throw new Error(`parameter ${name}: shape [${arr.shape}] != [${old.shape}]`);
      tf.tidy(() => old.assign(tf.tensor(arr.data, arr.shape)));
    } else {
      this.vars.set(name, tf.tidy(() => tf.variable(tf.tensor(arr.data, arr.shape), true)));
    }
  }

  /** Copy of every parameter's values, sorted by name. */
  async toArrays(): Promise<Map<string, NamedArray>> {
    const out = new Map<string, NamedArray>();
    for (const name of [...this.vars.keys()].sort()) {
      const v = this.vars.get(name)!;
      out.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
    }
    return out;
  }

  /** Number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
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
 * Initial values, deterministic per (seed, name): adding a layer does not change the others' values,
 * and the order in which the forward pass asks for parameters does not matter.
 */
export function initialValues(name: string, shape: number[], init: ParamInit, seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (init.kind === 'ones') out.fill(1);
  if (init.kind === 'values') {
    if (init.values.length !== n) throw new Error(`parameter ${name}: ${init.values.length} initial values for a shape of ${n}`);
    out.set(init.values);
  }
  if (init.kind !== 'uniform') return out;
  const bound = 1 / Math.sqrt(init.fanIn);
  let s = (hashString(name) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < n; i++) {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (2 * u - 1) * bound;
  }
  return out;
}

/** FNV-1a, 32 bit. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The one file that imports onnxruntime-node. Everything else talks to ONNX models through
 * `OnnxModel`: it loads a model file, reports the inputs/outputs the file declares (names, element
 * types, shapes, read from the session rather than assumed), converts plain typed arrays to the
 * element type each input declares, names missing inputs in its error, and hands outputs back as
 * plain `Tensor`s, so no onnxruntime type leaks into the rest of the code.
 */
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { OnnxInputs, type ValueInfo } from './onnx-inputs.js';

export type { ValueInfo } from './onnx-inputs.js';

/** Element types this wrapper converts to and from. */
export type ElementType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

/** A plain tensor: row-major data and its dimensions. int64 is held as numbers (exact below 2^53). */
export interface Tensor {
  dims: number[];
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
}

/** A feed: numbers in any numeric array, converted to the declared element type on `run`. */
export interface Feed {
  dims: number[];
  data: ArrayLike<number> | ArrayLike<boolean>;
}

export interface OnnxModelOptions {
  /** Intra-op threads; default: onnxruntime's choice (all cores). */
  threads?: number;
  /**
   * Let idle intra-op threads spin-wait for work (onnxruntime's default, true). Spinning threads
   * steal the CPU from each other when other processes load the machine (a 2-thread run took 2x
   * the 1-thread time here under load); false makes them sleep.
   */
  spinning?: boolean;
}

/** input / hasInput / requireInputs come from OnnxInputs (./onnx-inputs.ts), shared with OnnxThreadModel. */
export class OnnxModel extends OnnxInputs {
  private constructor(
    readonly file: string,
    private readonly session: ort.InferenceSession,
    readonly inputs: ValueInfo[],
    readonly outputs: ValueInfo[],
  ) {
    super();
  }

  static async load(file: string, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    if (!existsSync(file)) throw new InputError(file, 'model file not found');
    return OnnxModel.create(file, file, options);
  }

  /**
   * A model from its bytes (e.g. one converted in memory); `label` names it in errors as a file
   * would (InputError "<label>: not a loadable ONNX model: ...").
   */
  static async fromBytes(bytes: Uint8Array, label: string, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    return OnnxModel.create(bytes, label, options);
  }

  private static async create(source: string | Uint8Array, label: string, options: OnnxModelOptions): Promise<OnnxModel> {
    let session: ort.InferenceSession;
    try {
      const sessionOptions: ort.InferenceSession.SessionOptions = { interOpNumThreads: 1, graphOptimizationLevel: 'all' };
      if (options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
      if (options.spinning === false) sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' } } };
      session = typeof source === 'string' ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source, sessionOptions);
    } catch (err) {
      throw new InputError(label, `not a loadable ONNX model: ${firstLine(err)}`);
    }
    return new OnnxModel(label, session, session.inputMetadata.map(info), session.outputMetadata.map(info));
  }

  /**
   * Runs the model. Every declared input must be fed (else "missing inputs: ..."); feeds for
   * names the model does not declare are an error too, since they mean the caller misread the
   * export. Returns the requested outputs (default all) as float32/int32/uint8/float64 tensors.
   */
  async run(feeds: Record<string, Feed>, outputNames?: string[]): Promise<Record<string, Tensor>> {
    const missing = this.inputs.filter((i) => !(i.name in feeds)).map((i) => i.name);
    if (missing.length > 0) {
      throw new InputError(this.file, `missing inputs: ${missing.join(', ')} (this export needs inputs the caller does not provide)`);
    }
    const unknown = Object.keys(feeds).filter((n) => !this.hasInput(n));
    if (unknown.length > 0) {
      throw new InputError(this.file, `model has no input ${unknown.join(', ')} (its inputs: ${this.inputs.map((i) => i.name).join(', ')})`);
    }
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const spec of this.inputs) ortFeeds[spec.name] = toOrt(this.file, spec, feeds[spec.name]);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputNames ? await this.session.run(ortFeeds, outputNames) : await this.session.run(ortFeeds);
    } catch (err) {
      throw new InputError(this.file, `inference failed: ${firstLine(err)}`);
    }
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(result)) out[name] = fromOrt(value as ort.Tensor);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function info(meta: ort.InferenceSession.ValueMetadata): ValueInfo {
  return meta.isTensor ? { name: meta.name, type: meta.type, shape: meta.shape } : { name: meta.name, type: 'non-tensor', shape: [] };
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

function toOrt(file: string, spec: ValueInfo, feed: Feed): ort.Tensor {
  const n = feed.dims.reduce((a, b) => a * b, 1);
  if (feed.data.length !== n) throw new Error(`feed '${spec.name}': ${feed.data.length} values for dims [${feed.dims}]`);
  const values = feed.data as ArrayLike<number>;
  switch (spec.type) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(values), feed.dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(values), feed.dims);
    case 'float16':
      return new ort.Tensor('float16', float32ToFloat16(Float32Array.from(values)), feed.dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(values, (v) => Math.round(Number(v))), feed.dims);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(Math.round(Number(v))))), feed.dims);
    case 'uint8':
      // A Uint8Array (an image's bytes) is copied natively; other numbers wrap modulo 256 (Uint8Array.from).
      return new ort.Tensor('uint8', values instanceof Uint8Array ? new Uint8Array(values) : Uint8Array.from(values), feed.dims);
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(Array.from(values, (v) => (v ? 1 : 0))), feed.dims);
    default:
      throw new InputError(file, `input '${spec.name}' has element type ${spec.type}, which tesg does not feed`);
  }
}

function fromOrt(t: ort.Tensor): Tensor {
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return { dims, data: t.data as Float32Array };
    case 'float64':
      return { dims, data: t.data as Float64Array };
    case 'float16':
      return { dims, data: float16ToFloat32(t.data as Uint16Array) };
    case 'int32':
      return { dims, data: t.data as Int32Array };
    case 'int64':
      return { dims, data: Float64Array.from(t.data as BigInt64Array, (v) => Number(v)) };
    case 'bool':
    case 'uint8':
      return { dims, data: t.data as Uint8Array };
    default:
      throw new Error(`output of element type ${t.type} is not supported`);
  }
}

/** IEEE half from float, round-to-nearest-even; fp16 exports (optimum --fp16) need it. */
export function float32ToFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
    } else {
      let half = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
      out[i] = sign | half;
    }
  }
  return out;
}

export function float16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

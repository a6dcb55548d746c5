import type { Attr, Dim } from '../export/onnx-writer.js';
import { OnnxGraphWriter } from '../export/onnx-writer.js';
import type { Ops, ParamInit } from './ops.js';
import type { NamedArray } from './params.js';
import { downPad, L2_NORM_EPS, LAYER_NORM_EPS } from './ops.js';

/**
 * The network's ops as an ONNX graph builder: running the one network definition (./network.ts)
 * with these ops writes the graph instead of computing. A value is a `Sym`: a graph value name and
 * its shape (numbers, or names for the sizes fixed at run time: "batch", "height", "width").
 * Feature maps are NCHW (ONNX Conv's layout); tokens [B, tokens, dim].
 *
 * Parameters and scalars are known at export: they stay constants (`value`, tfjs layout) until an op
 * consumes them, so weight slices (Restormer's split qkv) and layout changes (conv weights to
 * [out, in, kh, kw]) are computed once here and the graph only holds the final initializers.
 */
export interface Sym {
  /** Graph value name; null for a constant not written to the graph (yet). */
  name: string | null;
  shape: Dim[];
  /** Known values (row-major, tfjs layout) of a parameter, a slice of one, or a scalar. */
  value?: Float32Array;
  /** Identity of a constant, to write each constant once per layout. */
  key?: string;
}

/** tfjs NHWC axis -> ONNX NCHW axis, for slices of feature maps. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];

export interface OnnxOpsOptions {
  /**
   * Per-pixel LayerNorm over channels: 'decomposed' (ReduceMean over axis 1 and elementwise ops on
   * NCHW) or 'transpose' (to NHWC, ONNX LayerNormalization on the last axis, back). Same maths;
   * which runs faster is measured in docs/onnx-export.md.
   */
  channelNorm?: 'decomposed' | 'transpose';
}

export class OnnxOps implements Ops<Sym> {
  readonly graph = new OnnxGraphWriter();
  /** Parameter names the definition asked for (to find unused weights). */
  readonly used = new Set<string>();
  private readonly written = new Map<string, string>();
  private prefix = '';

  constructor(
    private readonly weights: ReadonlyMap<string, NamedArray>,
    private readonly options: OnnxOpsOptions = {},
  ) {}

  // ---- graph inputs / outputs -------------------------------------------------------------

  input(name: string, shape: Dim[]): Sym {
    return { name: this.graph.input(name, shape), shape };
  }

  output(x: Sym, name: string): void {
    this.node('Identity', [this.ref(x)], {}, x.shape, name);
    this.graph.output(name, x.shape);
  }

  // ---- Ops ---------------------------------------------------------------------------------

  param(name: string, shape: number[], _init: ParamInit): Sym {
    const w = this.weights.get(name);
    if (!w) throw new Error(`parameter ${name} [${shape}] is missing from the weights`);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`parameter ${name}: the network wants shape [${shape}], the weights have [${w.shape}]`);
    }
    this.used.add(name);
    return { name: null, shape: [...shape], value: w.data, key: name };
  }

  scope<R extends Sym | Sym[]>(name: string, fn: () => R): R {
    const outer = this.prefix;
    this.prefix = name;
    try {
      return fn();
    } finally {
      this.prefix = outer;
    }
  }

  constant(value: number): Sym {
    return { name: null, shape: [], value: Float32Array.of(value), key: `scalar:${value}` };
  }

  conv2d(x: Sym, weight: Sym, bias: Sym | null, pad: number): Sym {
    const [kh, kw, cin, cout] = weight.shape as number[];
    const w = this.constInit(weight, 'oihw', [cout, cin, kh, kw], () => permute(known(weight), [kh, kw, cin, cout], [3, 2, 0, 1]));
    const inputs = [this.ref(x), w];
    if (bias) inputs.push(this.constInit(bias, 'vec', [cout], () => known(bias)));
    return this.node('Conv', inputs, { kernel_shape: [kh, kw], pads: [pad, pad, pad, pad] }, [x.shape[0], cout, x.shape[2], x.shape[3]]);
  }

  depthwiseConv2d(x: Sym, weight: Sym, bias: Sym | null, pad: number): Sym {
    const [kh, kw, c] = weight.shape as number[];
    const w = this.constInit(weight, 'c1hw', [c, 1, kh, kw], () => permute(known(weight), [kh, kw, c, 1], [2, 3, 0, 1]));
    const inputs = [this.ref(x), w];
    if (bias) inputs.push(this.constInit(bias, 'vec', [c], () => known(bias)));
    return this.node('Conv', inputs, { kernel_shape: [kh, kw], pads: [pad, pad, pad, pad], group: c }, x.shape);
  }

  downConv(x: Sym, weight: Sym, bias: Sym | null): Sym {
    const [kh, kw, cin, cout] = weight.shape as number[];
    const pad = downPad(kh);
    const w = this.constInit(weight, 'oihw', [cout, cin, kh, kw], () => permute(known(weight), [kh, kw, cin, cout], [3, 2, 0, 1]));
    const inputs = [this.ref(x), w];
    if (bias) inputs.push(this.constInit(bias, 'vec', [cout], () => known(bias)));
    const attrs = { kernel_shape: [kh, kw], strides: [2, 2], pads: [pad, pad, pad, pad] };
    return this.node('Conv', inputs, attrs, [x.shape[0], cout, halfDim(x.shape[2]), halfDim(x.shape[3])]);
  }

  /** ONNX Resize, nearest, asymmetric coordinates with floor: out[i] = in[floor(i / 2)], exactly a 2x2 repeat. */
  upsample2x(x: Sym): Sym {
    const scales = this.graph.floatInit('up2.scales', [4], Float32Array.of(1, 1, 2, 2));
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    return this.node('Resize', [this.ref(x), '', scales], attrs, [x.shape[0], x.shape[1], twiceDim(x.shape[2]), twiceDim(x.shape[3])]);
  }

  maxPool(x: Sym, factor: number): Sym {
    const shape = [x.shape[0], x.shape[1], divDim(x.shape[2], factor), divDim(x.shape[3], factor)];
    return this.node('MaxPool', [this.ref(x)], { kernel_shape: [factor, factor], strides: [factor, factor] }, shape);
  }

  add(a: Sym, b: Sym): Sym {
    return this.binary('Add', a, b);
  }
  sub(a: Sym, b: Sym): Sym {
    return this.binary('Sub', a, b);
  }
  mul(a: Sym, b: Sym): Sym {
    return this.binary('Mul', a, b);
  }
  sigmoid(x: Sym): Sym {
    return this.node('Sigmoid', [this.ref(x)], {}, x.shape);
  }
  relu(x: Sym): Sym {
    return this.node('Relu', [this.ref(x)], {}, x.shape);
  }
  gelu(x: Sym): Sym {
    // The pattern PyTorch exports (x / sqrt2, Erf, + 1, * x, * 0.5); onnxruntime fuses it into one Gelu kernel.
    const scaled = this.node('Div', [this.ref(x), this.scalar(Math.SQRT2)], {}, x.shape);
    const e = this.node('Erf', [this.ref(scaled)], {}, x.shape);
    const onePlus = this.node('Add', [this.ref(e), this.scalar(1)], {}, x.shape);
    return this.node('Mul', [this.ref(this.node('Mul', [this.ref(x), this.ref(onePlus)], {}, x.shape)), this.scalar(0.5)], {}, x.shape);
  }

  /** eps (config norm_eps) is LayerNormalization's epsilon attribute, or the constant added to the variance. */
  layerNorm(x: Sym, weight: Sym, bias: Sym | null, eps = LAYER_NORM_EPS): Sym {
    if (x.shape.length !== 4) return this.layerNormTokens(x, weight, bias, eps);
    const c = x.shape[1] as number;
    if (bias && this.options.channelNorm === 'transpose') {
      const nhwc = this.node('Transpose', [this.ref(x)], { perm: [0, 2, 3, 1] }, [x.shape[0], x.shape[2], x.shape[3], c]);
      const y = this.node(
        'LayerNormalization',
        [this.ref(nhwc), this.constInit(weight, 'vec', [c], () => known(weight)), this.constInit(bias, 'vec', [c], () => known(bias))],
        { axis: -1, epsilon: { float: eps } },
        nhwc.shape,
      );
      return this.node('Transpose', [this.ref(y)], { perm: [0, 3, 1, 2] }, x.shape);
    }
    return this.layerNormDecomposed(x, 1, weight, bias, [1, c, 1, 1], eps);
  }

  layerNormTokens(t: Sym, weight: Sym, bias: Sym | null, eps = LAYER_NORM_EPS): Sym {
    const d = t.shape[t.shape.length - 1] as number;
    if (!bias) return this.layerNormDecomposed(t, -1, weight, null, [d], eps);
    return this.node(
      'LayerNormalization',
      [this.ref(t), this.constInit(weight, 'vec', [d], () => known(weight)), this.constInit(bias, 'vec', [d], () => known(bias))],
      { axis: -1, epsilon: { float: eps } },
      t.shape,
    );
  }

  linear(t: Sym, weight: Sym, bias: Sym | null): Sym {
    const [din, dout] = weight.shape as number[];
    const w = this.constInit(weight, 'as-is', [din, dout], () => known(weight));
    const y = this.node('MatMul', [this.ref(t), w], {}, [...t.shape.slice(0, -1), dout]);
    return bias ? this.node('Add', [this.ref(y), this.constInit(bias, 'vec', [dout], () => known(bias))], {}, y.shape) : y;
  }

  concatChannels(xs: Sym[]): Sym {
    const axis = xs[0].shape.length === 4 ? 1 : xs[0].shape.length - 1;
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((s, x) => s + (x.shape[axis] as number), 0);
    return this.node('Concat', xs.map((x) => this.ref(x)), { axis }, shape);
  }

  sliceAxis(x: Sym, axis: number, start: number, size: number): Sym {
    if (x.value) {
      const shape = [...x.shape] as number[];
      shape[axis] = size;
      return { name: null, shape, value: sliceValues(x.value, x.shape as number[], axis, start, size), key: `${x.key}[${axis}:${start}+${size}]` };
    }
    const onnxAxis = x.shape.length === 4 ? NHWC_TO_NCHW_AXIS[axis] : axis;
    const shape = [...x.shape];
    shape[onnxAxis] = size;
    const starts = this.graph.int64Init('slice.start', [start]);
    const ends = this.graph.int64Init('slice.end', [start + size]);
    const axes = this.graph.int64Init('slice.axis', [onnxAxis]);
    return this.node('Slice', [this.ref(x), starts, ends, axes], {}, shape);
  }

  /**
   * Per head: scores = (q_h k_h^T) / (|q_i| |k_j|) * temperature, as ops.ts defines (q, k
   * L2-normalised over the pixels). The norms divide the small per x per score matrix instead of
   * the two full feature maps: the same numbers with two fewer passes over the pixels.
   * |x| = sqrt(sum x^2 + eps), eps the config's attn_eps.
   */
  channelAttention(q: Sym, k: Sym, v: Sym, temperature: Sym, heads: number, eps = L2_NORM_EPS): Sym {
    const c = q.shape[1] as number;
    const per = c / heads;
    const b = q.shape[0];
    const byHead = this.graph.int64Init('heads.shape', [0, heads, per, -1]);
    const split = (x: Sym) => this.node('Reshape', [this.ref(x), byHead], {}, [b, heads, per, 'pixels']);
    const [qh, kh, vh] = [split(q), split(k), split(v)];
    const norm = (x: Sym) => {
      const ss = this.node('ReduceSumSquare', [this.ref(x)], { axes: [-1], keepdims: 1 }, [b, heads, per, 1]);
      return this.node('Sqrt', [this.ref(this.node('Add', [this.ref(ss), this.scalar(eps)], {}, ss.shape))], {}, ss.shape);
    };
    const kT = this.node('Transpose', [this.ref(kh)], { perm: [0, 1, 3, 2] }, [b, heads, 'pixels', per]);
    let scores = this.node('MatMul', [this.ref(qh), this.ref(kT)], {}, [b, heads, per, per]);
    scores = this.node('Div', [this.ref(scores), this.ref(norm(qh))], {}, scores.shape);
    const nkRow = this.node('Transpose', [this.ref(norm(kh))], { perm: [0, 1, 3, 2] }, [b, heads, 1, per]);
    scores = this.node('Div', [this.ref(scores), this.ref(nkRow)], {}, scores.shape);
    const temp = this.constInit(temperature, 'heads', [1, heads, 1, 1], () => known(temperature));
    scores = this.node('Mul', [this.ref(scores), temp], {}, scores.shape);
    const attn = this.node('Softmax', [this.ref(scores)], { axis: -1 }, scores.shape);
    const out = this.node('MatMul', [this.ref(attn), this.ref(vh)], {}, vh.shape);
    return this.node('Reshape', [this.ref(out), this.ref(this.node('Shape', [this.ref(q)], {}, [4]))], {}, q.shape);
  }

  /**
   * Per head: softmax(q_h k_h^T / sqrt(C/heads)) v_h with pixels as rows: q is turned to
   * [B, heads, pixels, per] so the softmax runs over the last axis (the tokens); the scale is
   * applied to the small k instead of the pixels x tokens scores.
   */
  tokenAttention(q: Sym, k: Sym, v: Sym, heads: number): Sym {
    const c = q.shape[1] as number;
    const per = c / heads;
    const [b, tokens] = [k.shape[0], k.shape[1]];
    const qh = this.node('Reshape', [this.ref(q), this.graph.int64Init('heads.shape', [0, heads, per, -1])], {}, [b, heads, per, 'pixels']);
    const qRows = this.node('Transpose', [this.ref(qh)], { perm: [0, 1, 3, 2] }, [b, heads, 'pixels', per]);
    const tokenHeads = this.graph.int64Init('tokens.heads', [0, 0, heads, per]);
    const splitTokens = (t: Sym, perm: number[], shape: Dim[]) =>
      this.node('Transpose', [this.ref(this.node('Reshape', [this.ref(t), tokenHeads], {}, [b, tokens, heads, per]))], { perm }, shape);
    const kCols = splitTokens(k, [0, 2, 3, 1], [b, heads, per, tokens]);
    const kScaled = this.node('Mul', [this.ref(kCols), this.scalar(1 / Math.sqrt(per))], {}, kCols.shape);
    const vRows = splitTokens(v, [0, 2, 1, 3], [b, heads, tokens, per]);
    const scores = this.node('MatMul', [this.ref(qRows), this.ref(kScaled)], {}, [b, heads, 'pixels', tokens]);
    const attn = this.node('Softmax', [this.ref(scores)], { axis: -1 }, scores.shape);
    const out = this.node('MatMul', [this.ref(attn), this.ref(vRows)], {}, [b, heads, 'pixels', per]);
    const outCols = this.node('Transpose', [this.ref(out)], { perm: [0, 1, 3, 2] }, [b, heads, per, 'pixels']);
    return this.node('Reshape', [this.ref(outCols), this.ref(this.node('Shape', [this.ref(q)], {}, [4]))], {}, q.shape);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private layerNormDecomposed(x: Sym, axis: number, weight: Sym, bias: Sym | null, paramDims: number[], eps: number): Sym {
    const reduced = x.shape.map((d, i) => (i === (axis < 0 ? x.shape.length + axis : axis) ? 1 : d));
    const mean = this.node('ReduceMean', [this.ref(x)], { axes: [axis], keepdims: 1 }, reduced);
    const centred = this.node('Sub', [this.ref(x), this.ref(mean)], {}, x.shape);
    const variance = this.node('ReduceMean', [this.ref(this.node('Mul', [this.ref(centred), this.ref(centred)], {}, x.shape))], { axes: [axis], keepdims: 1 }, reduced);
    const std = this.node('Sqrt', [this.ref(this.node('Add', [this.ref(variance), this.scalar(eps)], {}, reduced))], {}, reduced);
    // Restormer's BiasFree variant divides x itself (not x - mean) by the standard deviation.
    const normed = this.node('Div', [this.ref(bias ? centred : x), this.ref(std)], {}, x.shape);
    const scaled = this.node('Mul', [this.ref(normed), this.constInit(weight, `ln${paramDims.length}`, paramDims, () => known(weight))], {}, x.shape);
    return bias ? this.node('Add', [this.ref(scaled), this.constInit(bias, `ln${paramDims.length}`, paramDims, () => known(bias))], {}, x.shape) : scaled;
  }

  private binary(op: 'Add' | 'Sub' | 'Mul', a: Sym, b: Sym): Sym {
    if (a.value && b.value && a.value.length === 1 && b.value.length === 1) {
      const [x, y] = [a.value[0], b.value[0]];
      const v = op === 'Add' ? x + y : op === 'Sub' ? x - y : x * y;
      return this.constant(Math.fround(v));
    }
    return this.node(op, [this.operand(a, b), this.operand(b, a)], {}, broadcastShape(a.shape, b.shape));
  }

  /** A value for an elementwise op; a per-channel constant vector broadcasts over NCHW's channel axis, as tfjs's last axis. */
  private operand(x: Sym, other: Sym): string {
    if (!x.value || x.value.length === 1) return this.ref(x);
    if (x.shape.length === 1 && other.shape.length === 4) return this.constInit(x, 'ln4', [1, x.shape[0] as number, 1, 1], () => known(x));
    return this.ref(x);
  }

  /** The graph name of `x`, writing a constant as an initializer the first time. */
  private ref(x: Sym): string {
    if (x.name !== null) return x.name;
    return this.constInit(x, 'as-is', x.shape as number[], () => known(x));
  }

  private scalar(v: number): string {
    return this.ref(this.constant(v));
  }

  /** Writes a constant once per (key, layout). */
  private constInit(x: Sym, layout: string, dims: number[], values: () => Float32Array): string {
    if (!x.value || x.key === undefined) throw new Error(`${this.prefix}: ONNX export needs a known (parameter) value here`);
    const id = `${x.key}|${layout}`;
    let name = this.written.get(id);
    if (!name) {
      name = this.graph.floatInit(x.key.startsWith('scalar:') ? 'scalar' : `${x.key}${layout === 'as-is' ? '' : `.${layout}`}`, dims, values());
      this.written.set(id, name);
    }
    return name;
  }

  /** Adds one node named after the current scope (or `outName`, for graph outputs). */
  private node(op: string, inputs: string[], attrs: Record<string, Attr>, shape: Dim[], outName?: string): Sym {
    const [name] = this.graph.node(op, inputs, outName ?? `${this.prefix || 'tesg'}/${op.toLowerCase()}`, attrs);
    if (outName && name !== outName) throw new Error(`ONNX export: output name '${outName}' is taken`);
    return { name, shape };
  }
}

/** A spatial size divided by `f` (a symbolic one becomes "height/2", "height/4", ...). */
function divDim(d: Dim, f: number): Dim {
  if (typeof d === 'number') return d / f;
  const m = /^(.*)\/(\d+)$/.exec(d);
  return m ? `${m[1]}/${Number(m[2]) * f}` : `${d}/${f}`;
}

function halfDim(d: Dim): Dim {
  return divDim(d, 2);
}

/** Inverse of halfDim: "height/2" -> "height", "height/4" -> "height/2". */
function twiceDim(d: Dim): Dim {
  if (typeof d === 'number') return 2 * d;
  const m = /^(.*)\/(\d+)$/.exec(d);
  if (!m) return `2*${d}`;
  const f = Number(m[2]) / 2;
  return f === 1 ? m[1] : `${m[1]}/${f}`;
}

function known(x: Sym): Float32Array {
  if (!x.value) throw new Error('ONNX export: a weight is not a known constant');
  return x.value;
}

/** Numpy-style broadcast of two shapes (symbolic dims: a named dim wins over 1). */
export function broadcastShape(a: Dim[], b: Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const pa = [...Array<Dim>(rank - a.length).fill(1), ...a];
  const pb = [...Array<Dim>(rank - b.length).fill(1), ...b];
  return pa.map((d, i) => (d === 1 ? pb[i] : d));
}

/** Row-major transpose of `data` (shape `dims`) by `perm` (output axis i = input axis perm[i]). */
export function permute(data: Float32Array, dims: number[], perm: number[]): Float32Array {
  const outDims = perm.map((p) => dims[p]);
  const inStrides = strides(dims);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i] * inStrides[perm[i]];
    out[o] = data[src];
    for (let i = outDims.length - 1; i >= 0; i--) {
      if (++idx[i] < outDims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** `size` entries from `start` along `axis` of a row-major array. */
export function sliceValues(data: Float32Array, dims: number[], axis: number, start: number, size: number): Float32Array {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * size * inner);
  for (let o = 0; o < outer; o++) {
    const from = (o * dims[axis] + start) * inner;
    out.set(data.subarray(from, from + size * inner), o * size * inner);
  }
  return out;
}

/**
 * The small set of operations the TeSG network is written against (src/model/network.ts).
 * Implementations: tfjs (training and tfjs inference, ./ops-tfjs.ts), a shape/FLOP counter
 * (./ops-count.ts), and later an ONNX graph builder (export). The network never touches a tensor
 * layout: feature maps are opaque `T`s in whatever layout the implementation chose (tfjs: NHWC,
 * ONNX: NCHW), and everything that depends on the layout (channel axis, attention reshapes) is an op
 * here. All shapes are static given the input's; nothing depends on tensor values.
 *
 * Weight layouts are fixed (tfjs conventions) so a parameter map means the same in every
 * implementation; an ONNX builder transposes the constants once at export:
 *   conv2d weight       [kh, kw, in, out]
 *   depthwise weight    [kh, kw, channels, 1]
 *   linear weight       [in, out]
 *   bias / norm weights [channels]
 *   attention temperature [heads]
 */

/** How a parameter is initialised when a model is created (ignored when weights are loaded). */
export type ParamInit =
  /** U(-1/sqrt(fanIn), 1/sqrt(fanIn)), PyTorch's default for conv and linear layers. */
  | { kind: 'uniform'; fanIn: number }
  | { kind: 'ones' }
  | { kind: 'zeros' }
  /** Exactly these values (row-major), e.g. the BT.601 luma weights of the base fusion. */
  | { kind: 'values'; values: readonly number[] };

/** Zero padding of a stride-2 down-sampling conv of kernel k (ops' downConv): 2 -> none, 3 -> one pixel each side. */
export function downPad(k: number): number {
  if (k !== 2 && k !== 3) throw new Error(`downConv: kernel ${k}x${k} is not supported (2 or 3)`);
  return k === 2 ? 0 : 1;
}

/** LayerNorm epsilon when an op is not given one (tesg-v1, PyTorch's default; config norm_eps). */
export const LAYER_NORM_EPS = 1e-5;
/** Epsilon inside the square root of channelAttention's L2 normalisation when not given (tesg-v1; config attn_eps). */
export const L2_NORM_EPS = 1e-8;

export interface Ops<T> {
  /** The parameter called `name` (e.g. "enc_ir.blocks.0.attn.qkv.weight"); the shape is checked. */
  param(name: string, shape: number[], init: ParamInit): T;
  /**
   * A named sub-graph. tfjs frees the intermediates of `fn` when it returns (bounded memory for
   * large images); a graph builder uses the name as a node-name prefix.
   */
  scope<R extends T | T[]>(name: string, fn: () => R): R;
  /** A scalar constant that broadcasts against anything. */
  constant(value: number): T;

  /** Stride-1 convolution with `pad` zero pixels on each side (pad = (k-1)/2 keeps the size). */
  conv2d(x: T, weight: T, bias: T | null, pad: number): T;
  /** Per-channel stride-1 convolution, zero padding as conv2d. */
  depthwiseConv2d(x: T, weight: T, bias: T | null, pad: number): T;

  /**
   * Stride-2 convolution for the U-shape's down-sampling (Restormer's Downsample, as one op):
   * weight [k, k, in, out] with k = 2 (no padding: pixel-unshuffle then a linear map) or k = 3
   * (one zero pixel each side). [B, H, W, in] -> [B, H/2, W/2, out]; H and W must be even.
   */
  downConv(x: T, weight: T, bias: T | null): T;
  /** Nearest-neighbour 2x up-sampling: [B, H, W, C] -> [B, 2H, 2W, C], each pixel a 2x2 block. */
  upsample2x(x: T): T;
  /**
   * Max over non-overlapping factor x factor windows, parameter-free (the mask M at an inner
   * level): [B, H, W, C] -> [B, H/factor, W/factor, C]; H and W must be multiples of factor.
   */
  maxPool(x: T, factor: number): T;

  /** Elementwise with broadcasting (a mask with one channel broadcasts over features). */
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  /** GELU, exact (erf) form, as PyTorch's default. */
  gelu(x: T): T;

  /**
   * LayerNorm over the channels of each pixel (Restormer's per-pixel LayerNorm); bias null = BiasFree:
   * (x - mean) / sqrt(var + eps) * weight + bias, biased variance; eps > 0 (default LAYER_NORM_EPS).
   */
  layerNorm(x: T, weight: T, bias: T | null, eps?: number): T;
  /** LayerNorm over the last axis of tokens [B, tokens, dim], as layerNorm (same eps meaning and default). */
  layerNormTokens(t: T, weight: T, bias: T | null, eps?: number): T;
  /** Tokens [B, tokens, in] times weight [in, out] (+ bias [out]) -> [B, tokens, out]. */
  linear(t: T, weight: T, bias: T | null): T;

  concatChannels(xs: T[]): T;
  /**
   * `size` entries from `start` along `axis` of a parameter (fixed layout above). Blocks use it to
   * run a fused projection (Restormer's qkv) as separate convolutions on slices of one weight, which
   * avoids splitting the big activation tensor (a strided copy that costs more than the conv here).
   */
  sliceAxis(x: T, axis: number, start: number, size: number): T;

  /**
   * Transposed (channel) attention, Restormer's MDTA core, for feature maps q, k, v of C channels:
   * per head h (C/heads channels each), q_h and k_h are L2-normalised over the pixels
   * (x / sqrt(sum x^2 + eps), eps > 0, default L2_NORM_EPS = 1e-8; config attn_eps), then
   * A_h = softmax(q_h k_h^T * temperature[h]) (C/heads x C/heads), out_h = A_h v_h.
   * Cost is linear in the number of pixels. q may come from one modality and k, v from another.
   */
  channelAttention(q: T, k: T, v: T, temperature: T, heads: number, eps?: number): T;
  /**
   * Pixel-to-token attention: each pixel of q (C channels) attends to the tokens of k, v
   * ([B, tokens, C]); per head, softmax(q_h k_h^T / sqrt(C/heads)) v_h. Linear in the number of pixels.
   */
  tokenAttention(q: T, k: T, v: T, heads: number): T;
}

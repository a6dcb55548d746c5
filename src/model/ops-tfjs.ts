import { tf } from './tfjs.js';
import type { Ops, ParamInit } from './ops.js';
import { downPad, L2_NORM_EPS, LAYER_NORM_EPS } from './ops.js';
import type { ParamStore } from './params.js';

type T = tf.Tensor;

/**
 * The tfjs implementation of the network's ops, NHWC feature maps ([B, H, W, C]).
 * Attention works on [B, H*W, C] views (reshapes are free in NHWC) and never transposes the big
 * tensors: channel attention takes all heads in one C x C product with a block-diagonal mask
 * (C is small, so the wasted products cost less than transposing every pixel).
 */
export class TfOps implements Ops<T> {
  private readonly blockMasks = new Map<string, T>();

  constructor(
    private readonly params: ParamStore,
    /** Pixels per token-attention chunk (see TOKEN_CHUNK). */
    private readonly tokenChunk = TOKEN_CHUNK,
  ) {}

  param(name: string, shape: number[], init: ParamInit): T {
    return this.params.get(name, shape, init);
  }

  scope<R extends T | T[]>(_name: string, fn: () => R): R {
    return tf.tidy(fn);
  }

  constant(value: number): T {
    return tf.scalar(value);
  }

  conv2d(x: T, weight: T, bias: T | null, pad: number): T {
    const y = tf.conv2d(x as tf.Tensor4D, weight as tf.Tensor4D, 1, pad);
    return bias ? tf.add(y, bias) : y;
  }

  depthwiseConv2d(x: T, weight: T, bias: T | null, pad: number): T {
    const y = tf.depthwiseConv2d(x as tf.Tensor4D, weight as tf.Tensor4D, 1, pad);
    return bias ? tf.add(y, bias) : y;
  }

  downConv(x: T, weight: T, bias: T | null): T {
    const y = tf.conv2d(x as tf.Tensor4D, weight as tf.Tensor4D, 2, downPad(weight.shape[0]!));
    return bias ? tf.add(y, bias) : y;
  }

  /**
   * Composed from reshapes and broadcasting adds (whose gradients are sums, on every backend):
   * tfjs-wasm has no ResizeNearestNeighborGrad kernel. Rows first, then columns.
   */
  upsample2x(x: T): T {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape as [number, number, number, number];
      const rows = tf.reshape(tf.add(tf.reshape(x, [b * h, 1, w * c]), this.zeros2()), [b, 2 * h, w, c]);
      return tf.reshape(tf.add(tf.reshape(rows, [b * 2 * h * w, 1, c]), this.zeros2()), [b, 2 * h, 2 * w, c]);
    });
  }

  maxPool(x: T, factor: number): T {
    return tf.maxPool(x as tf.Tensor4D, factor, factor, 'valid');
  }

  private zeros2(): T {
    let z = this.blockMasks.get('zeros2');
    if (!z) {
      z = tf.keep(tf.zeros([1, 2, 1]));
      this.blockMasks.set('zeros2', z);
    }
    return z;
  }

  add(a: T, b: T): T {
    return tf.add(a, b);
  }
  sub(a: T, b: T): T {
    return tf.sub(a, b);
  }
  mul(a: T, b: T): T {
    return tf.mul(a, b);
  }
  sigmoid(x: T): T {
    return tf.sigmoid(x);
  }
  relu(x: T): T {
    return tf.relu(x);
  }
  gelu(x: T): T {
    return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
  }

  layerNorm(x: T, weight: T, bias: T | null, eps = LAYER_NORM_EPS): T {
    return layerNormLastAxis(x, weight, bias, eps);
  }
  layerNormTokens(t: T, weight: T, bias: T | null, eps = LAYER_NORM_EPS): T {
    return layerNormLastAxis(t, weight, bias, eps);
  }

  linear(t: T, weight: T, bias: T | null): T {
    return tf.tidy(() => {
      const [b, n, din] = t.shape;
      const y = tf.matMul(tf.reshape(t, [b * n, din]), weight as tf.Tensor2D);
      const out = tf.reshape(y, [b, n, weight.shape[1]!]);
      return bias ? tf.add(out, bias) : out;
    });
  }

  concatChannels(xs: T[]): T {
    return tf.concat(xs, -1);
  }
  sliceAxis(x: T, axis: number, start: number, size: number): T {
    const begin = x.shape.map((_, i) => (i === axis ? start : 0));
    const sizes = x.shape.map((d, i) => (i === axis ? size : d));
    return tf.slice(x, begin, sizes);
  }

  channelAttention(q: T, k: T, v: T, temperature: T, heads: number, eps = L2_NORM_EPS): T {
    return tf.tidy(() => {
      const [b, h, w, c] = q.shape;
      const flat = (t: T) => tf.reshape(t, [b, h * w, c]) as tf.Tensor3D;
      const qn = l2NormalizeAxis1(flat(q), eps);
      const kn = l2NormalizeAxis1(flat(k), eps);
      // scores[b, i, j] = sum_n q[n, i] k[n, j]: C x C per image.
      let scores = tf.matMul(qn, kn, true, false);
      const perHead = c / heads;
      const rowScale = tf.reshape(tf.tile(tf.reshape(temperature, [heads, 1]), [1, perHead]), [c, 1]);
      scores = tf.mul(scores, rowScale);
      if (heads > 1) scores = tf.add(scores, this.blockMask(c, heads));
      const attn = tf.softmax(scores);
      // out[n, i] = sum_j attn[i, j] v[n, j]
      const out = tf.matMul(flat(v), attn, false, true);
      return tf.reshape(out, [b, h, w, c]);
    });
  }

  tokenAttention(q: T, k: T, v: T, heads: number): T {
    return tf.tidy(() => {
      const [b, h, w, c] = q.shape;
      const n = h * w;
      const qf = tf.reshape(q, [b, n, c]) as tf.Tensor3D;
      // The scores are pixels x tokens per head (77 floats per pixel and head, 5x the features):
      // computed for TOKEN_CHUNK pixels at a time so a large image never holds them all.
      const outs: T[] = [];
      for (let start = 0; start < n; start += this.tokenChunk) {
        const len = Math.min(this.tokenChunk, n - start);
        const chunk = n <= this.tokenChunk ? qf : (tf.slice(qf, [0, start, 0], [b, len, c]) as tf.Tensor3D);
        outs.push(tf.tidy(() => this.tokenAttentionChunk(chunk, k, v, heads)));
      }
      return tf.reshape(outs.length === 1 ? outs[0] : tf.concat(outs, 1), [b, h, w, c]);
    });
  }

  private tokenAttentionChunk(q: tf.Tensor3D, k: T, v: T, heads: number): T {
    const [b, n, c] = q.shape;
    const tokens = k.shape[1]!;
    const perHead = c / heads;
    const pick = (t: T, rows: number, i: number) =>
      (heads === 1 ? t : tf.slice(t, [0, 0, i * perHead], [b, rows, perHead])) as tf.Tensor3D;
    const outs: T[] = [];
    for (let i = 0; i < heads; i++) {
      const scores = tf.mul(tf.matMul(pick(q, n, i), pick(k, tokens, i), false, true), 1 / Math.sqrt(perHead));
      outs.push(tf.matMul(tf.softmax(scores), pick(v, tokens, i)));
    }
    return heads === 1 ? outs[0] : tf.concat(outs, -1);
  }

  /** 0 inside each head's diagonal block, -1e9 elsewhere, so softmax ignores other heads' channels. */
  private blockMask(c: number, heads: number): T {
    const key = `${c}/${heads}`;
    let m = this.blockMasks.get(key);
    if (!m) {
      const per = c / heads;
      const data = new Float32Array(c * c);
      for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) data[i * c + j] = Math.floor(i / per) === Math.floor(j / per) ? 0 : -1e9;
      m = tf.keep(tf.tensor2d(data, [c, c]));
      this.blockMasks.set(key, m);
    }
    return m;
  }

  /** Free the cached constants. */
  dispose(): void {
    for (const m of this.blockMasks.values()) m.dispose();
    this.blockMasks.clear();
  }
}

/** Pixels per token-attention chunk: 16384 x 77 floats = 5 MB of scores per head. */
const TOKEN_CHUNK = 16384;

/** (x - mean) / sqrt(var + eps) * weight (+ bias) over the last axis; eps > 0 (config norm_eps). */
function layerNormLastAxis(x: T, weight: T, bias: T | null, eps: number): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    // Restormer's BiasFree variant divides x (not x - mean) by the standard deviation.
    const centred = bias ? tf.sub(x, mean) : x;
    const y = tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight);
    return bias ? tf.add(y, bias) : y;
  });
}

/**
 * x / sqrt(||x||^2 + eps) over the pixels (axis 1 of [B, N, C]); eps (config attn_eps) inside the
 * square root, so an all-zero column (an empty mask) has a finite gradient, 1/sqrt(eps) times the
 * upstream one. torch's normalize clamps the norm instead, whose gradient is NaN there (sqrt'(0)).
 */
function l2NormalizeAxis1(x: tf.Tensor3D, eps: number): tf.Tensor3D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), eps))) as tf.Tensor3D);
}

/**
 * A Restormer-style block stack used to test and measure the training runtime, not the shipped
 * network (that is src/model/). It uses the same ops in the same way as src/model/ops-tfjs.ts (LayerNorm
 * by moments, 1x1 and depthwise 3x3 convs, channel attention as one C x C product per image with a
 * block-diagonal head mask, erf GELU), so its step time and kernel mix stand for the real network's.
 *
 * Weights are plain Float32Arrays (WeightMap), so the same values can be loaded on the wasm and cpu
 * backends and sent to worker replicas.
 */
import { tf } from './tfjs-node.cjs';

export interface ProbeNetConfig {
  dim: number;
  heads: number;
  /** Transformer blocks (MDTA + GDFN each). */
  blocks: number;
  /** GDFN hidden width = floor(dim * ffnFactor), Restormer's 2.66 by default. */
  ffnFactor: number;
  inChannels: number;
  outChannels: number;
}

export const DEFAULT_PROBE_CONFIG: ProbeNetConfig = { dim: 24, heads: 2, blocks: 4, ffnFactor: 2.66, inChannels: 4, outChannels: 3 };

export type WeightMap = Record<string, { shape: number[]; data: Float32Array }>;
export type Params = Record<string, tf.Tensor>;

function hidden(cfg: ProbeNetConfig): number {
  return Math.max(1, Math.floor(cfg.dim * cfg.ffnFactor));
}

/** Parameter names and shapes, in a fixed order. */
export function probeShapes(cfg: ProbeNetConfig): [string, number[]][] {
  const { dim: c, inChannels, outChannels } = cfg;
  const h = hidden(cfg);
  const s: [string, number[]][] = [['embed.w', [3, 3, inChannels, c]], ['embed.b', [c]]];
  for (let i = 0; i < cfg.blocks; i++) {
    const p = `b${i}.`;
    s.push([p + 'ln1.w', [c]], [p + 'ln1.b', [c]], [p + 'qkv.w', [1, 1, c, 3 * c]], [p + 'qkv_dw.w', [3, 3, 3 * c, 1]]);
    s.push([p + 'temp', [cfg.heads]], [p + 'attn_out.w', [1, 1, c, c]]);
    s.push([p + 'ln2.w', [c]], [p + 'ln2.b', [c]], [p + 'ffn_in.w', [1, 1, c, 2 * h]], [p + 'ffn_dw.w', [3, 3, 2 * h, 1]]);
    s.push([p + 'ffn_out.w', [1, 1, h, c]]);
  }
  s.push(['out.w', [3, 3, c, outChannels]], ['out.b', [outChannels]]);
  return s;
}

/** Seeded weights: uniform(+-1/sqrt(fanIn)) for convs, ones/zeros for norms, ones for temperatures. */
export function initProbeWeights(cfg: ProbeNetConfig, seed = 1): WeightMap {
  let state = seed >>> 0 || 1;
  const rand = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const w: WeightMap = {};
  for (const [name, shape] of probeShapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.endsWith('ln1.w') || name.endsWith('ln2.w') || name.endsWith('temp')) data.fill(1);
    else if (!name.endsWith('.b')) {
      const fanIn = shape.length === 4 ? shape[0] * shape[1] * (shape[3] === 1 ? 1 : shape[2]) : shape[0];
      const bound = 1 / Math.sqrt(fanIn);
      for (let k = 0; k < size; k++) data[k] = (2 * rand() - 1) * bound;
    }
    w[name] = { shape, data };
  }
  return w;
}

/** The weights as tensors on the current backend (caller disposes). */
export function toParams(w: WeightMap): Params {
  const p: Params = {};
  for (const [k, v] of Object.entries(w)) p[k] = tf.tensor(v.data, v.shape);
  return p;
}

function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
}

function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

function conv1x1(x: tf.Tensor, w: tf.Tensor): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid');
}

function dw3x3(x: tf.Tensor, w: tf.Tensor): tf.Tensor4D {
  return tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
}

function headMask(c: number, heads: number): tf.Tensor {
  const per = c / heads;
  const m = new Float32Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) m[i * c + j] = Math.floor(i / per) === Math.floor(j / per) ? 0 : -1e9;
  return tf.tensor2d(m, [c, c]);
}

function l2NormalizePixels(x: tf.Tensor3D): tf.Tensor3D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-8)));
}

/** Channel (transposed) attention: C x C scores per image, linear in the pixels. */
function channelAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, temp: tf.Tensor, heads: number): tf.Tensor {
  const [b, h, w, c] = q.shape;
  const flat = (t: tf.Tensor) => tf.reshape(t, [b, h * w, c]) as tf.Tensor3D;
  let scores: tf.Tensor = tf.matMul(l2NormalizePixels(flat(q)), l2NormalizePixels(flat(k)), true, false);
  scores = tf.mul(scores, tf.reshape(tf.tile(tf.reshape(temp, [heads, 1]), [1, c / heads]), [c, 1]));
  if (heads > 1) scores = tf.add(scores, headMask(c, heads));
  const out = tf.matMul(flat(v), tf.softmax(scores) as tf.Tensor3D, false, true);
  return tf.reshape(out, [b, h, w, c]);
}

/** x [N, H, W, inChannels] -> [N, H, W, outChannels]. */
export function probeForward(cfg: ProbeNetConfig, p: Params, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const c = cfg.dim;
    const h = hidden(cfg);
    let f: tf.Tensor = tf.add(tf.conv2d(x, p['embed.w'] as tf.Tensor4D, 1, 'same'), p['embed.b']);
    for (let i = 0; i < cfg.blocks; i++) {
      const q = `b${i}.`;
      const qkv = dw3x3(conv1x1(layerNorm(f, p[q + 'ln1.w'], p[q + 'ln1.b']), p[q + 'qkv.w']), p[q + 'qkv_dw.w']);
      const [qq, kk, vv] = tf.split(qkv, [c, c, c], -1);
      f = tf.add(f, conv1x1(channelAttention(qq, kk, vv, p[q + 'temp'], cfg.heads), p[q + 'attn_out.w']));
      const g = dw3x3(conv1x1(layerNorm(f, p[q + 'ln2.w'], p[q + 'ln2.b']), p[q + 'ffn_in.w']), p[q + 'ffn_dw.w']);
      const [g1, g2] = tf.split(g, [h, h], -1);
      f = tf.add(f, conv1x1(tf.mul(gelu(g1), g2), p[q + 'ffn_out.w']));
    }
    return tf.add(tf.conv2d(f as tf.Tensor4D, p['out.w'] as tf.Tensor4D, 1, 'same'), p['out.b']) as tf.Tensor4D;
  });
}

/** Mean squared error against `target`. */
export function probeLoss(cfg: ProbeNetConfig, p: Params, x: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(probeForward(cfg, p, x), target)) as tf.Scalar);
}

/** Forward multiply-add FLOPs (2 per MAC) of convs and attention products for an N x H x W batch. */
export function probeForwardFlops(cfg: ProbeNetConfig, n: number, height: number, width: number): number {
  const c = cfg.dim;
  const h = hidden(cfg);
  const perPixelBlock =
    2 * c * 3 * c + 2 * 9 * 3 * c + // qkv 1x1, depthwise
    2 * 2 * c * (c / cfg.heads) + // scores and weighted sum, per head
    2 * c * c + // attention out
    2 * c * 2 * h + 2 * 9 * 2 * h + 2 * h * c; // GDFN in, depthwise, out
  const perPixel = 2 * 9 * cfg.inChannels * c + cfg.blocks * perPixelBlock + 2 * 9 * c * cfg.outChannels;
  return perPixel * n * height * width;
}

import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';

/**
 * A small U-Net for the segmentation benchmark (a cheap stand-in for the paper's DeepLabV3+, which
 * is far beyond a 2-core CPU budget): a stride-2 stem (the full-resolution level costs the most and
 * adds little at 160x120), per level two 3x3 conv + ReLU, 2x2 max-pool down, bilinear up and skip
 * concatenation, a 1x1 head, logits bilinearly upsampled to the input size (as DeepLab does).
 * Widths [16, 32, 64, 128]: about 0.43 M parameters, 0.2 GMAC per 160x120 image. Input is always
 * 3 channels (gray images replicated), so every method trains the identical network.
 */
export interface SegNetConfig {
  inChannels: number;
  classes: number;
  widths: number[];
  /** Stride of the first convolution (1 or 2). */
  stemStride: number;
}

export const DEFAULT_SEGNET: SegNetConfig = { inChannels: 3, classes: 9, widths: [16, 32, 64, 128], stemStride: 2 };

/** Parameters in a fixed order (the checkpoint order): name -> variable. */
export type SegParams = Map<string, tf.Variable>;

interface ConvSpec {
  name: string;
  k: number;
  cin: number;
  cout: number;
}

function convSpecs(cfg: SegNetConfig): ConvSpec[] {
  const w = cfg.widths;
  const specs: ConvSpec[] = [];
  let cin = cfg.inChannels;
  w.forEach((c, l) => {
    specs.push({ name: `enc${l}a`, k: 3, cin, cout: c }, { name: `enc${l}b`, k: 3, cin: c, cout: c });
    cin = c;
  });
  for (let l = w.length - 2; l >= 0; l--) {
    specs.push({ name: `dec${l}a`, k: 3, cin: cin + w[l], cout: w[l] }, { name: `dec${l}b`, k: 3, cin: w[l], cout: w[l] });
    cin = w[l];
  }
  specs.push({ name: 'head', k: 1, cin, cout: cfg.classes });
  return specs;
}

/** He-normal weights from a seeded RNG (identical on every backend), zero biases. */
export function initSegParams(cfg: SegNetConfig, seed: number): SegParams {
  const rng = new Rng(seed);
  const params: SegParams = new Map();
  for (const s of convSpecs(cfg)) {
    const n = s.k * s.k * s.cin * s.cout;
    const std = Math.sqrt(2 / (s.k * s.k * s.cin));
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = rng.normal() * std;
    params.set(`${s.name}/w`, tf.tidy(() => tf.variable(tf.tensor4d(w, [s.k, s.k, s.cin, s.cout]), true)));
    params.set(`${s.name}/b`, tf.tidy(() => tf.variable(tf.zeros([s.cout]), true)));
  }
  return params;
}

export function paramCount(params: SegParams): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}

function conv(x: tf.Tensor4D, p: SegParams, name: string, relu: boolean, strides = 1): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: p.get(`${name}/w`) as tf.Tensor4D,
    bias: p.get(`${name}/b`),
    strides,
    pad: 'same',
    activation: relu ? 'relu' : 'linear',
  });
}

/**
 * Forward pass: [B, H, W, C] images scaled to about -2..2 -> [B, H, W, classes] logits.
 * Any H, W work (upsampling resizes to the skip's exact size).
 */
export function segForward(params: SegParams, cfg: SegNetConfig, x: tf.Tensor4D): tf.Tensor4D {
  const skips: tf.Tensor4D[] = [];
  let h = x;
  cfg.widths.forEach((_, l) => {
    if (l > 0) h = tf.maxPool(h, 2, 2, 'same');
    h = conv(conv(h, params, `enc${l}a`, true, l === 0 ? cfg.stemStride : 1), params, `enc${l}b`, true);
    skips.push(h);
  });
  for (let l = cfg.widths.length - 2; l >= 0; l--) {
    const skip = skips[l];
    const up = tf.image.resizeBilinear(h, [skip.shape[1], skip.shape[2]]);
    h = conv(conv(tf.concat([up, skip], 3), params, `dec${l}a`, true), params, `dec${l}b`, true);
  }
  const logits = conv(h, params, 'head', false);
  if (logits.shape[1] === x.shape[1] && logits.shape[2] === x.shape[2]) return logits;
  return tf.image.resizeBilinear(logits, [x.shape[1], x.shape[2]]);
}

/** Mean per-pixel softmax cross-entropy; `labels` holds class indices [B, H, W]. */
export function crossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, classes: number): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const onehot = tf.oneHot(tf.cast(labels, 'int32'), classes);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1))) as tf.Scalar;
}

/** Multiply 8-bit pixels into the network's input range. */
export const INPUT_MEAN = 0.4;
export const INPUT_STD = 0.25;

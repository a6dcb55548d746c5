import { tf } from '../runtime/tfjs-node.cjs';
import type { NamedArray } from '../model/params.js';
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

/** He-normal weights from a seeded RNG (identical on every backend), zero biases, in checkpoint order. */
export function initSegWeights(cfg: SegNetConfig, seed: number): Map<string, NamedArray> {
  const rng = new Rng(seed);
  const out = new Map<string, NamedArray>();
  for (const s of convSpecs(cfg)) {
    const n = s.k * s.k * s.cin * s.cout;
    const std = Math.sqrt(2 / (s.k * s.k * s.cin));
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = rng.normal() * std;
    out.set(`${s.name}/w`, { shape: [s.k, s.k, s.cin, s.cout], data: w });
    out.set(`${s.name}/b`, { shape: [s.cout], data: new Float32Array(s.cout) });
  }
  return out;
}

/** tfjs variables holding `weights` (trainable). */
export function segParamsFromArrays(weights: Map<string, NamedArray>): SegParams {
  const params: SegParams = new Map();
  for (const [name, a] of weights) params.set(name, tf.tidy(() => tf.variable(tf.tensor(a.data, a.shape), true)));
  return params;
}

export function initSegParams(cfg: SegNetConfig, seed: number): SegParams {
  return segParamsFromArrays(initSegWeights(cfg, seed));
}

export function paramCount(params: Map<string, { size: number } | NamedArray>): number {
  let n = 0;
  for (const v of params.values()) n += 'size' in v ? v.size : v.data.length;
  return n;
}

/**
 * What the network needs of a backend. Feature maps are NHWC; conv uses TF 'same' padding and
 * resize is tf.image.resizeBilinear's (no half-pixel centres), so every backend computes the same
 * function: tfjs below, libtorch in ./segnet-torch.ts (native/src/segnet.cc).
 */
export interface SegLayers<T> {
  /** Convolution `name` (weights `${name}/w`, `${name}/b`) at `stride`, then ReLU if asked. */
  conv(x: T, name: string, stride: number, relu: boolean): T;
  maxPool2(x: T): T;
  resize(x: T, height: number, width: number): T;
  concat(a: T, b: T): T;
  /** [height, width] of a feature map. */
  size(x: T): [number, number];
}

/**
 * The network, once for every backend: [B, H, W, C] images scaled to about -2..2 -> [B, H, W,
 * classes] logits. Any H, W work (upsampling resizes to the skip's exact size).
 */
export function segNetwork<T>(L: SegLayers<T>, cfg: SegNetConfig, x: T): T {
  const skips: T[] = [];
  let h = x;
  cfg.widths.forEach((_, l) => {
    if (l > 0) h = L.maxPool2(h);
    h = L.conv(L.conv(h, `enc${l}a`, l === 0 ? cfg.stemStride : 1, true), `enc${l}b`, 1, true);
    skips.push(h);
  });
  for (let l = cfg.widths.length - 2; l >= 0; l--) {
    const [sh, sw] = L.size(skips[l]);
    h = L.conv(L.conv(L.concat(L.resize(h, sh, sw), skips[l]), `dec${l}a`, 1, true), `dec${l}b`, 1, true);
  }
  const logits = L.conv(h, 'head', 1, false);
  const [ih, iw] = L.size(x);
  const [lh, lw] = L.size(logits);
  return lh === ih && lw === iw ? logits : L.resize(logits, ih, iw);
}

function tfjsLayers(p: SegParams): SegLayers<tf.Tensor4D> {
  return {
    conv: (x, name, strides, relu) =>
      tf.fused.conv2d({ x, filter: p.get(`${name}/w`) as tf.Tensor4D, bias: p.get(`${name}/b`), strides, pad: 'same', activation: relu ? 'relu' : 'linear' }),
    maxPool2: (x) => tf.maxPool(x, 2, 2, 'same'),
    resize: (x, h, w) => tf.image.resizeBilinear(x, [h, w]),
    concat: (a, b) => tf.concat([a, b], 3),
    size: (x) => [x.shape[1], x.shape[2]],
  };
}

/** The network on tfjs. */
export function segForward(params: SegParams, cfg: SegNetConfig, x: tf.Tensor4D): tf.Tensor4D {
  return segNetwork(tfjsLayers(params), cfg, x);
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

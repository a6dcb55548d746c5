/**
 * The optional libtorch backend: a C++ addon (native/, built by `npm run build:native` against
 * Debian's libtorch) that runs the network's ops with autograd. Training uses it when present
 * (`tesg train --backend torch`); everything else keeps working on tfjs-wasm without it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesgError } from '../errors.js';

/** A torch tensor owned by JS. Feature maps are NHWC, as on tfjs; weights keep the layouts of ops.ts. */
export interface TorchTensor {
  readonly shape: number[];
  readonly disposed: boolean;
  readonly requiresGrad: boolean;
  /** A contiguous float32 copy of the values (row-major in `shape`). */
  toFloat32(): Float32Array;
  item(): number;
  /** Drops this handle's reference; the memory goes when nothing else (autograd) holds it. */
  dispose(): void;
  /** The accumulated gradient of a leaf, or null before a backward pass reached it. */
  grad(): TorchTensor | null;
  zeroGrad(): void;
  /** Adds scale * d(this)/d(leaf) into every leaf's gradient (this must be a scalar). */
  backward(scale?: number): void;
  /** Overwrites the values (same count), outside autograd. */
  assign(data: Float32Array): void;
}

export interface TorchLossTerms {
  total: TorchTensor;
  ssim: TorchTensor;
  intensity: TorchTensor;
  gradient: TorchTensor;
  color: TorchTensor;
}

/** Float32 scalars of one AdamW step; see native/src/ops.h. */
export interface AdamWConstants {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  bc1: number;
  bc2: number;
  decay: number;
  lr: number;
  eps: number;
}

type T = TorchTensor;

/** What native/src/addon.cc exports. */
export interface TorchAddon {
  torchVersion: string;
  /** libtorch's intra-op threads and OpenBLAS's (default: the same). */
  setNumThreads(n: number, blasThreads?: number): void;
  numThreads(): number;
  /** JS handles that still hold a tensor (a leak check). */
  liveTensors(): number;
  /** Turns graph recording on or off; returns the previous state. */
  setGradEnabled(on: boolean): boolean;
  fromFloat32(data: Float32Array, shape: number[], requiresGrad?: boolean): T;
  scalar(value: number): T;
  conv2d(x: T, w: T, b: T | null, pad: number): T;
  depthwiseConv2d(x: T, w: T, b: T | null, pad: number): T;
  /** The U-shape's ops (native/src/unet.cc; src/model/ops.ts): stride-2 conv, nearest 2x, max-pool. */
  downConv(x: T, w: T, b: T | null): T;
  upsample2x(x: T): T;
  maxPool(x: T, factor: number): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  gelu(x: T): T;
  /** LayerNorm over the last axis; eps (default 1e-5) inside the square root (native/src/ops.cc). */
  layerNorm(x: T, w: T, b: T | null, eps?: number): T;
  linear(t: T, w: T, b: T | null): T;
  concat(xs: T[], axis: number): T;
  slice(x: T, axis: number, start: number, size: number): T;
  /** ops.ts's channelAttention; eps (default 1e-8) inside the square root of the q/k L2 normalisation. */
  channelAttention(q: T, k: T, v: T, temperature: T, heads: number, eps?: number): T;
  /** True when the addon takes the eps arguments above (a build older than them ignores them). */
  epsArgs?: boolean;
  tokenAttention(q: T, k: T, v: T, heads: number): T;
  rgbToY(rgb: T): T;
  ssim(a: T, b: T): T;
  sobelMagnitude(x: T): T;
  sum(x: T): T;
  /** Segmentation U-Net ops (native/src/segnet.cc): TF 'same' padding and legacy bilinear resizing. */
  convSame(x: T, w: T, b: T | null, stride: number): T;
  maxPool2(x: T): T;
  resizeBilinear(x: T, outH: number, outW: number): T;
  /** Mean softmax cross-entropy of NHWC logits against class indices [B, H, W]; pixel accuracy without gradient. */
  segLoss(logits: T, labels: T): { loss: T; accuracy: T };
  /** weights: [ssim, intensity, gradient, color]. */
  fusionLoss(out: T, outputRgb: boolean, ir: T, viRgb: T, weights: [number, number, number, number]): TorchLossTerms;
  gradNorm(params: T[]): number;
  adamwStep(params: T[], m: T[], v: T[], k: AdamWConstants): void;
  /** libtorch's CPU profiler around a region: per op name, calls and self/total milliseconds. */
  profileStart(): void;
  profileStop(): Record<string, { calls: number; selfMs: number; totalMs: number }>;
}

/** The Debian packages the addon builds and runs against (OpenBLAS: ~8x faster 1x1 convolutions). */
export const TORCH_APT_PACKAGES = 'libtorch-dev libopenblas0-pthread';

/** Where node-gyp puts the addon, from src/runtime/ or dist/runtime/ alike. */
export function torchAddonPath(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.join(root, 'native', 'build', 'Release', 'tesg_torch.node');
}

let cached: TorchAddon | null = null;
let failure: string | null = null;

/** Why the addon cannot be used, or null when it loads. */
export function torchUnavailableReason(): string | null {
  if (cached) return null;
  if (failure) return failure;
  const file = torchAddonPath();
  if (!existsSync(file)) {
    failure = `the libtorch backend is not built (${file} is missing): run \`sudo apt-get install -y ${TORCH_APT_PACKAGES}\`, then \`npm run build:native\``;
    return failure;
  }
  try {
    // libgomp reads this once, when the addon loads it. Its default (spin before sleeping) burns
    // the other cores' time when they are busy: on this shared 2-core machine a 2-thread step took
    // 3.4x the CPU time of a 1-thread one with spinning, 1.15x with passive waits.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    const addon = createRequire(import.meta.url)(file) as TorchAddon;
    if (addon.epsArgs !== true) {
      // an addon built before layerNorm/channelAttention took an epsilon would silently ignore it
      failure = `the libtorch backend (${file}) is older than its sources (no epsilon arguments): rebuild it with \`npm run build:native\``;
      return failure;
    }
    cached = addon;
    return null;
  } catch (err) {
    failure =
      `the libtorch backend (${file}) does not load: ${(err as Error).message.split('\n')[0]}. ` +
      `Install libtorch with \`sudo apt-get install -y ${TORCH_APT_PACKAGES}\` and rebuild with \`npm run build:native\``;
    return failure;
  }
}

export function torchAvailable(): boolean {
  return torchUnavailableReason() === null;
}

/** The addon, or a TesgError saying what to install and which script to run. */
export function loadTorch(): TorchAddon {
  const reason = torchUnavailableReason();
  if (reason) throw new TesgError(reason);
  return cached!;
}

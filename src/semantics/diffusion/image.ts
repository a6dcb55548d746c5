/**
 * Image8 -> the VAE's input: planar RGB in [-1, 1], resized so the long side is `longSide` and
 * both sides are multiples of 8 (the VAE downsamples by 8). Gray images are repeated to 3
 * channels, as a gray photo saved as RGB would be.
 */
import type { Image8 } from '../../image/types.js';
import { resizeBilinear } from './resize.js';

export interface VaeSample {
  data: Float32Array;
  height: number;
  width: number;
}

export function latentFriendlySize(width: number, height: number, longSide: number): { width: number; height: number } {
  const scale = longSide / Math.max(width, height);
  const snap = (v: number) => Math.max(8, Math.round((v * scale) / 8) * 8);
  return { width: snap(width), height: snap(height) };
}

/** Planar float RGB in [0, 255] of an Image8 (gray repeated). */
export function toPlanarRgb(img: Image8): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[c * n + i] = img.channels === 1 ? img.data[i] : img.data[i * 3 + c];
  }
  return out;
}

export function imageToVaeSample(img: Image8, longSide: number): VaeSample {
  const { width, height } = latentFriendlySize(img.width, img.height, longSide);
  const rgb = resizeBilinear(toPlanarRgb(img), 3, img.height, img.width, height, width);
  for (let i = 0; i < rgb.length; i++) rgb[i] = rgb[i] / 127.5 - 1;
  return { data: rgb, height, width };
}

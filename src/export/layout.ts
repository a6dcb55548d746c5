import type { Image8 } from '../image/types.js';

/**
 * Interleaved (NHWC, as Image8 and tfjs hold pixels) <-> planar (NCHW, as the ONNX graph takes them)
 * for one image, crops of planar images (tiles), and the exported network's pre- and
 * post-processing on planar arrays. Browser-safe (no Node built-ins): the CLI's OnnxFuser
 * (src/export/onnx-fuse.ts) and the browser app (web/src/fusion.ts) share it, so both give the same pixels.
 */
export function hwcToChw(src: ArrayLike<number>, h: number, w: number, c: number, scale = 1): Float32Array {
  const out = new Float32Array(h * w * c);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) out[ch * plane + p] = src[p * c + ch] * scale;
  return out;
}

export function chwToHwc(src: ArrayLike<number>, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(h * w * c);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) out[p * c + ch] = src[ch * plane + p];
  return out;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Symmetric (edge-repeating) padding of a planar [ch, h, w] image at the bottom and right to
 * [ch, ph, pw], as tf.mirrorPad(..., 'symmetric') in TesgModel.predict: the network's input must
 * be a multiple of its size multiple (src/model/config.ts sizeMultiple); crop the output back with cropChw.
 */
export function padChwSymmetric(x: Float32Array, ch: number, h: number, w: number, ph: number, pw: number): Float32Array {
  if (ph === h && pw === w) return x;
  const out = new Float32Array(ch * ph * pw);
  const mirror = (i: number, n: number) => (i < n ? i : 2 * n - 1 - i);
  for (let c = 0; c < ch; c++) {
    for (let y = 0; y < ph; y++) {
      const row = (c * h + mirror(y, h)) * w;
      for (let xx = 0; xx < pw; xx++) out[(c * ph + y) * pw + xx] = x[row + mirror(xx, w)];
    }
  }
  return out;
}

/** The `r` window of every channel of a planar [c, h, w] image. */
export function cropChw(src: Float32Array, h: number, w: number, c: number, r: Rect): Float32Array {
  const out = new Float32Array(c * r.width * r.height);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < r.height; y++) {
      const from = ch * h * w + (r.y + y) * w + r.x;
      out.set(src.subarray(from, from + r.width), (ch * r.height + y) * r.width);
    }
  }
  return out;
}

/** BT.601 luma with float32 products and sum (TesgModel.predict computes it in tfjs float32; src/model/color.ts). */
export const luma = (r: number, g: number, b: number): number => Math.fround(Math.fround(r * 0.299) + Math.fround(g * 0.587) + Math.fround(b * 0.114));

/** Planar RGB 0..1 of an image (a gray image repeated three times, as predict's toRgb). */
export function rgbPlanes(img: Image8): Float32Array {
  const plane = img.width * img.height;
  if (img.channels === 3) return hwcToChw(img.data, img.height, img.width, 3, 1 / 255);
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) out[p] = out[plane + p] = out[2 * plane + p] = img.data[p] / 255;
  return out;
}

/** The luma plane of planar RGB. */
export function yPlane(rgb: Float32Array, plane: number): Float32Array {
  const out = new Float32Array(plane);
  for (let p = 0; p < plane; p++) out[p] = luma(rgb[p], rgb[plane + p], rgb[2 * plane + p]);
  return out;
}

/** The network's planar inputs for one pair (0..1), and VI's planar RGB, which networkOutputToImage needs again. */
export interface NetworkPlanes {
  /** [1, H, W]: IR luminance */
  ir: Float32Array;
  /** [3, H, W] when viInput is 'rgb', else [1, H, W] */
  vi: Float32Array;
  /** [1, H, W]: 1 inside the mask */
  mask: Float32Array;
  /** [3, H, W] */
  viRgb: Float32Array;
}

/** Pre-processing as TesgModel.predict: IR as Y, VI as RGB or Y (config vi_input), the mask as 0/1; IR, VI and mask the same size. */
export function networkPlanes(ir: Image8, vi: Image8, mask: { data: Uint8Array }, viInput: 'rgb' | 'y'): NetworkPlanes {
  const { width: w, height: h } = vi;
  const plane = w * h;
  const viRgb = rgbPlanes(vi);
  return {
    ir: ir.channels === 3 ? yPlane(rgbPlanes(ir), plane) : hwcToChw(ir.data, h, w, 1, 1 / 255),
    vi: viInput === 'rgb' ? viRgb : yPlane(viRgb, plane),
    mask: maskPlane(mask.data),
    viRgb,
  };
}

/** 0..1 to 0..255: clamp, x255, round. */
const to8 = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);

/** A 0/1 float plane of a mask (any non-zero byte is 1). A plain loop: Float32Array.from with a mapping
 * function calls it per pixel, 25 ms for 640x480 in a fresh process against under 1 ms. */
export function maskPlane(m: Uint8Array): Float32Array {
  const out = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] ? 1 : 0;
  return out;
}

/**
 * The network's planar 0..1 output (config output 'rgb' or 'y') to 8-bit, as TesgModel.predict: a
 * colour VI gives RGB (a Y output takes VI's chroma), a gray VI gives gray; clamp, x255, round.
 */
export function networkOutputToImage(y: Float32Array, output: 'rgb' | 'y', vi: Image8, viRgb: Float32Array): Image8 {
  const { width: w, height: h } = vi;
  const plane = w * h;
  const channels = vi.channels === 1 ? 1 : 3;
  const out = new Uint8Array(plane * channels);
  // One loop per case (not a branch per pixel): this runs once per image in a fresh process, before
  // the JIT has seen it. Uint8Array stores clamp; the explicit clamp keeps NaN and rounding as before.
  if (output === 'rgb' && channels === 1) {
    for (let p = 0; p < plane; p++) out[p] = to8(luma(y[p], y[plane + p], y[2 * plane + p]));
  } else if (output === 'rgb') {
    for (let p = 0; p < plane; p++) for (let k = 0; k < 3; k++) out[3 * p + k] = to8(y[k * plane + p]);
  } else if (channels === 1) {
    for (let p = 0; p < plane; p++) out[p] = to8(y[p]);
  } else {
    // yCbCrToRgb(Y, rgbToCbCr(VI)) of src/model/color.ts: Cb, Cr scale (B - Y), (R - Y) by
    // constants its inverse divides out again, so R = Y + (R_vi - Y_vi), B = Y + (B_vi - Y_vi).
    for (let p = 0; p < plane; p++) {
      const r = viRgb[p], g = viRgb[plane + p], b = viRgb[2 * plane + p];
      const vy = luma(r, g, b);
      const R = y[p] + (r - vy);
      const B = y[p] + (b - vy);
      out[3 * p] = to8(R);
      out[3 * p + 1] = to8((y[p] - R * 0.299 - B * 0.114) / 0.587);
      out[3 * p + 2] = to8(B);
    }
  }
  return { width: w, height: h, channels, data: out };
}

import type { GrayImage, Image8 } from './types.js';

/**
 * Gray exactly as the reference evaluator: 0.299 R + 0.587 G + 0.114 B in float, rounded to an
 * integer half-to-even (numpy's rounding: all four oracle fused images match pixel-exactly only so). A 1-channel image is taken as the same value in all three channels.
 */
export function toGray(img: Image8): GrayImage {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = img.data[i];
  } else {
    const d = img.data;
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = roundHalfEven(0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2]);
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * Round to the nearest integer, ties to even, as numpy's round/rint and OpenCV's saturate_cast do
 * (the reference tools that made the oracle fused images round this way; Math.round rounds ties up).
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Clamp to 0..255 and round half to even: the one way fused float planes become 8-bit. */
export function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 255 ? 255 : roundHalfEven(x);
}

/**
 * Y, Cb, Cr planes (row-major, float, 0..255 nominal, chroma centred on 128). BT.601 full range with
 * OpenCV's constants (cv2.COLOR_RGB2YCrCb on 8-bit-scaled floats):
 *   Y = .299 R + .587 G + .114 B,  Cr = (R - Y) * .713 + 128,  Cb = (B - Y) * .564 + 128;
 *   R = Y + 1.403 (Cr - 128),  G = Y - .714 (Cr - 128) - .344 (Cb - 128),  B = Y + 1.773 (Cb - 128).
 * A gray image has Y = value and Cb = Cr = 128.
 */
export interface YCbCr {
  width: number;
  height: number;
  y: Float32Array;
  cb: Float32Array;
  cr: Float32Array;
}

const CHROMA_ZERO = 128;

export function rgbToYCbCr(img: Image8): YCbCr {
  const n = img.width * img.height;
  const y = lumaPlane(img);
  const cb = new Float32Array(n).fill(CHROMA_ZERO);
  const cr = new Float32Array(n).fill(CHROMA_ZERO);
  if (img.channels === 3) {
    const d = img.data;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      cr[i] = (d[j] - y[i]) * 0.713 + CHROMA_ZERO;
      cb[i] = (d[j + 2] - y[i]) * 0.564 + CHROMA_ZERO;
    }
  }
  return { width: img.width, height: img.height, y, cb, cr };
}

/** Back to 8-bit RGB (clamped, rounded half to even). */
export function ycbcrToRgb(p: YCbCr): Image8 {
  const n = p.width * p.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const y = p.y[i], cr = p.cr[i] - CHROMA_ZERO, cb = p.cb[i] - CHROMA_ZERO;
    out[j] = toByte(y + 1.403 * cr);
    out[j + 1] = toByte(y - 0.714 * cr - 0.344 * cb);
    out[j + 2] = toByte(y + 1.773 * cb);
  }
  return { width: p.width, height: p.height, channels: 3, data: out };
}

/** The luminance (Y) plane in float, unrounded; for a gray image the values themselves. */
export function lumaPlane(img: Image8): Float32Array {
  const n = img.width * img.height;
  const d = img.data;
  if (img.channels === 1) return Float32Array.from(d.subarray(0, n));
  const y = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) y[i] = 0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2];
  return y;
}

/** A float plane as a 1-channel 8-bit image (clamped, rounded half to even). */
export function planeToGray8(plane: ArrayLike<number>, width: number, height: number): Image8 {
  const n = width * height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = toByte(plane[i]);
  return { width, height, channels: 1, data: out };
}

/**
 * Colour a fused luminance plane with the visible image's chroma (fuse Y, keep VI's Cb/Cr): the usual
 * way to get colour output from a gray fusion. A gray VI gives a gray result.
 */
export function recolor(fusedY: ArrayLike<number>, vi: Image8): Image8 {
  const n = vi.width * vi.height;
  if (fusedY.length !== n) throw new RangeError(`recolor: fused plane has ${fusedY.length} values, VI has ${vi.width}x${vi.height} = ${n} pixels`);
  if (vi.channels === 1) return planeToGray8(fusedY, vi.width, vi.height);
  const { cb, cr } = rgbToYCbCr(vi);
  return ycbcrToRgb({ width: vi.width, height: vi.height, y: Float32Array.from(fusedY), cb, cr });
}

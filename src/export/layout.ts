/**
 * Interleaved (NHWC, as Image8 and tfjs hold pixels) <-> planar (NCHW, as the ONNX graph takes them)
 * for one image, and crops of planar images (tiles).
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

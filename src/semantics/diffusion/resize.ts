/**
 * Bilinear resampling of planar float images with half-pixel centres (OpenCV INTER_LINEAR,
 * PyTorch interpolate(align_corners=False)): used to bring images to the model's size and the
 * latent-resolution noise difference back to image size.
 */
export function resizeBilinear(src: Float32Array, channels: number, h: number, w: number, outH: number, outW: number): Float32Array {
  if (src.length !== channels * h * w) throw new Error(`resizeBilinear: ${src.length} values for ${channels}x${h}x${w}`);
  const out = new Float32Array(channels * outH * outW);
  const ys = axis(h, outH);
  const xs = axis(w, outW);
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    const o = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      const { i0: y0, i1: y1, f: fy } = ys[y];
      for (let x = 0; x < outW; x++) {
        const { i0: x0, i1: x1, f: fx } = xs[x];
        const top = src[plane + y0 * w + x0] * (1 - fx) + src[plane + y0 * w + x1] * fx;
        const bottom = src[plane + y1 * w + x0] * (1 - fx) + src[plane + y1 * w + x1] * fx;
        out[o + y * outW + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

function axis(n: number, outN: number): Array<{ i0: number; i1: number; f: number }> {
  const scale = n / outN;
  return Array.from({ length: outN }, (_, i) => {
    const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), n - 1);
    const i0 = Math.floor(s);
    return { i0, i1: Math.min(i0 + 1, n - 1), f: s - i0 };
  });
}

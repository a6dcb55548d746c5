import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';

/**
 * SF: spatial frequency, sqrt(mean(dx^2) + mean(dy^2)) over horizontal and vertical neighbour
 * differences (each mean over its own count: H(W-1) and (H-1)W). Sources unused.
 */
export const SF: MetricFn = (fused, ir, vi) => {
  checkTriple('SF', fused, ir, vi);
  const { width: w, height: h, data: d } = fused;
  let sx = 0, sy = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 1; x < w; x++) {
      const v = d[row + x] - d[row + x - 1];
      sx += v * v;
    }
    if (y > 0) {
      for (let x = 0; x < w; x++) {
        const v = d[row + x] - d[row - w + x];
        sy += v * v;
      }
    }
  }
  return Math.sqrt(sx / (h * (w - 1)) + sy / ((h - 1) * w));
};

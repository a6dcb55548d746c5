import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';

/**
 * AG: average gradient, mean over all H*W pixels of sqrt((gx^2 + gy^2) / 2), with central
 * differences / 2 inside and one-sided differences on the border rows and columns (the reference
 * evaluator's numpy convention; MATLAB kits divide by (H-1)(W-1) and give other numbers). Sources unused.
 */
export const AG: MetricFn = (fused, ir, vi) => {
  checkTriple('AG', fused, ir, vi);
  const { width: w, height: h, data: d } = fused;
  let s = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = y === 0 ? row : row - w;
    const down = y === h - 1 ? row : row + w;
    const dyScale = y === 0 || y === h - 1 ? 1 : 0.5;
    for (let x = 0; x < w; x++) {
      const left = x === 0 ? x : x - 1;
      const right = x === w - 1 ? x : x + 1;
      const gx = (d[row + right] - d[row + left]) * (x === 0 || x === w - 1 ? 1 : 0.5);
      const gy = (d[down + x] - d[up + x]) * dyScale;
      s += Math.sqrt((gx * gx + gy * gy) / 2);
    }
  }
  return s / (w * h);
};

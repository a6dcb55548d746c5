import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { MSE } from './mse.js';

/**
 * PSNR: 10 log10(max(F)^2 / MSE) with MSE the two-source mean above; note the peak is the fused
 * image's own maximum, not 255 (the reference's convention). Infinite when F equals both sources.
 */
export const PSNR: MetricFn = (fused, ir, vi) => {
  checkTriple('PSNR', fused, ir, vi);
  let peak = -Infinity;
  const d = fused.data;
  for (let i = 0; i < d.length; i++) if (d[i] > peak) peak = d[i];
  return 10 * Math.log10((peak * peak) / MSE(fused, ir, vi));
};

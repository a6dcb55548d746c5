import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { meanSquaredError } from './stats.js';

/** MSE: (MSE(F, IR) + MSE(F, VI)) / 2 on 0..255 gray. Lower is better. */
export const MSE: MetricFn = (fused, ir, vi) => {
  checkTriple('MSE', fused, ir, vi);
  return (meanSquaredError(fused.data, ir.data) + meanSquaredError(fused.data, vi.data)) / 2;
};

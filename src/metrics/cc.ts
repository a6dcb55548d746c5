import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { correlation } from './stats.js';

/** CC: (corr(F, IR) + corr(F, VI)) / 2, Pearson correlation. */
export const CC: MetricFn = (fused, ir, vi) => {
  checkTriple('CC', fused, ir, vi);
  return (correlation(ir.data, fused.data) + correlation(vi.data, fused.data)) / 2;
};

import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { correlation } from './stats.js';

/**
 * SCD: sum of the correlations of differences, corr(F - VI, IR) + corr(F - IR, VI): how much of
 * each source the fused image carries beyond the other source.
 */
export const SCD: MetricFn = (fused, ir, vi) => {
  checkTriple('SCD', fused, ir, vi);
  const f = fused.data, a = ir.data, b = vi.data;
  const diff = new Float64Array(f.length);
  for (let i = 0; i < f.length; i++) diff[i] = f[i] - b[i];
  const fromIr = correlation(a, diff);
  for (let i = 0; i < f.length; i++) diff[i] = f[i] - a[i];
  return fromIr + correlation(b, diff);
};

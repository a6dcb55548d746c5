import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { mean } from './stats.js';

/** SD: population standard deviation of the fused image (contrast). Sources unused. */
export const SD: MetricFn = (fused, ir, vi) => {
  checkTriple('SD', fused, ir, vi);
  const d = fused.data;
  const m = mean(d);
  let s = 0;
  for (let i = 0; i < d.length; i++) s += (d[i] - m) * (d[i] - m);
  return Math.sqrt(s / d.length);
};

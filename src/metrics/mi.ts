import type { GrayImage } from '../image/types.js';
import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { grayBin } from './stats.js';

/**
 * Mutual information (nats) of two gray images from their 256x256 joint histogram, as
 * sklearn's mutual_info_score computes it on the integer gray values.
 */
export function mutualInformation(a: GrayImage, b: GrayImage): number {
  const n = a.data.length;
  const joint = new Float64Array(256 * 256);
  const pa = new Float64Array(256);
  const pb = new Float64Array(256);
  for (let i = 0; i < n; i++) {
    const u = grayBin(a.data[i]), v = grayBin(b.data[i]);
    joint[u * 256 + v]++;
    pa[u]++;
    pb[v]++;
  }
  let mi = 0;
  for (let u = 0; u < 256; u++) {
    if (pa[u] === 0) continue;
    for (let v = 0; v < 256; v++) {
      const c = joint[u * 256 + v];
      if (c === 0) continue;
      mi += (c / n) * Math.log((c * n) / (pa[u] * pb[v]));
    }
  }
  return Math.max(0, mi);
}

/** MI: MI(F, IR) + MI(F, VI), in nats. */
export const MI: MetricFn = (fused, ir, vi) => {
  checkTriple('MI', fused, ir, vi);
  return mutualInformation(fused, ir) + mutualInformation(fused, vi);
};

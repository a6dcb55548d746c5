import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { grayBin } from './stats.js';

/** EN: Shannon entropy (bits) of the fused image's 256-bin gray histogram. Sources unused. */
export const EN: MetricFn = (fused, ir, vi) => {
  checkTriple('EN', fused, ir, vi);
  const hist = new Float64Array(256);
  const d = fused.data;
  for (let i = 0; i < d.length; i++) hist[grayBin(d[i])]++;
  let h = 0;
  for (let b = 0; b < 256; b++) {
    if (hist[b] === 0) continue;
    const p = hist[b] / d.length;
    h -= p * Math.log2(p);
  }
  return h;
};

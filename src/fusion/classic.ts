import { fuseLuminance } from './luminance.js';
import type { FusionMethod } from './registry.js';

/** Pixel-wise mean of the two luminances: the simplest baseline (keeps everything, halves contrast). */
export const averageFusion: FusionMethod = {
  name: 'average',
  description: 'pixel-wise mean of IR gray and VI luminance',
  async fuse(ir, vi, opts = {}) {
    return fuseLuminance(ir, vi, opts, (a, b) => {
      const out = new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) out[i] = (a[i] + b[i]) / 2;
      return out;
    });
  },
};

/** Pixel-wise maximum: keeps hot IR targets and bright VI areas, the intensity target of fusion losses. */
export const maxFusion: FusionMethod = {
  name: 'max',
  description: 'pixel-wise maximum of IR gray and VI luminance',
  async fuse(ir, vi, opts = {}) {
    return fuseLuminance(ir, vi, opts, (a, b) => {
      const out = new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i] > b[i] ? a[i] : b[i];
      return out;
    });
  },
};

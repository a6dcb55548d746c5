import { UsageError } from '../errors.js';
import { fuseLuminance } from './luminance.js';
import { collapsePyramid, laplacianPyramid, levelsFor, type Plane } from './pyramid.js';
import type { FusionMethod } from './registry.js';

/**
 * Laplacian-pyramid fusion: per detail level keep the coefficient with the larger magnitude (the
 * sharper source's edge wins), average the coarsest (base) level, collapse. The multi-scale classic
 * baseline most fusion papers compare against. params.levels (default 5, capped so the base keeps a
 * shorter side >= 4 px) counts the detail levels plus the base.
 */
export const DEFAULT_PYRAMID_LEVELS = 5;

function fuseLevels(a: Plane[], b: Plane[]): Plane[] {
  return a.map((pa, k) => {
    const pb = b[k];
    const out = new Float64Array(pa.data.length);
    const base = k === a.length - 1;
    for (let i = 0; i < out.length; i++) {
      const x = pa.data[i], y = pb.data[i];
      out[i] = base ? (x + y) / 2 : Math.abs(x) >= Math.abs(y) ? x : y;
    }
    return { width: pa.width, height: pa.height, data: out };
  });
}

export const laplacianFusion: FusionMethod = {
  name: 'laplacian',
  description: 'Laplacian pyramid: max-abs details, averaged base (params.levels, default 5)',
  async fuse(ir, vi, opts = {}) {
    const wanted = opts.params?.levels ?? DEFAULT_PYRAMID_LEVELS;
    if (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 1) throw new UsageError(`laplacian: levels must be a positive integer, got ${String(wanted)}`);
    return fuseLuminance(ir, vi, opts, (a, b, width, height) => {
      const levels = levelsFor(width, height, wanted);
      const fused = fuseLevels(laplacianPyramid({ width, height, data: a }, levels), laplacianPyramid({ width, height, data: b }, levels));
      return collapsePyramid(fused).data;
    });
  },
};

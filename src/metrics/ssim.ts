import type { GrayImage } from '../image/types.js';
import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { uniformMomentsFloat32, type LocalMoments32 } from './filters.js';

/**
 * SSIM as scikit-image's structural_similarity computes it by default: 7x7 uniform window, sample
 * covariance (N/(N-1)), K1 0.01, K2 0.03, the SSIM map averaged over pixels at least 3 from the border
 * (exactly the window's 'valid' region, so the border mode never matters).
 *
 * The reference evaluator reads images as float32, and scikit-image keeps float32 throughout, so
 * every step here is rounded to float32 (Math.fround) as numpy would: this reproduces the reference
 * values to the last bit, not just to 1e-4. It matters for SSIM_cddfuse, whose near-zero constants
 * make flat regions sensitive to float32 cancellation (float64 arithmetic is off by up to ~3e-5 there).
 */
const WIN = 7;
const K1 = 0.01, K2 = 0.03;
const f = Math.fround;
const COV_NORM = f((WIN * WIN) / (WIN * WIN - 1));

/** Mean SSIM over the valid region; `x` carries the cross moments with `y`. */
function meanSsim(x: LocalMoments32, y: LocalMoments32, dataRange: number): number {
  const c1 = f((K1 * dataRange) ** 2), c2 = f((K2 * dataRange) ** 2);
  const cross = x.cross as Float32Array;
  let s = 0;
  for (let i = 0; i < cross.length; i++) {
    const ux = x.mean[i], uy = y.mean[i];
    const uxx = f(ux * ux), uyy = f(uy * uy);
    const vx = f(COV_NORM * f(x.meanSq[i] - uxx));
    const vy = f(COV_NORM * f(y.meanSq[i] - uyy));
    const vxy = f(COV_NORM * f(cross[i] - f(ux * uy)));
    const a1 = f(f(2 * ux * uy) + c1), a2 = f(2 * vxy + c2);
    const b1 = f(f(uxx + uyy) + c1), b2 = f(f(vx + vy) + c2);
    s += f(f(a1 * a2) / f(b1 * b2));
  }
  return s / cross.length; // scikit-image averages the map in float64
}

/** ssim(F, IR) + ssim(F, VI) with the given data range. */
export function ssimSum(fused: GrayImage, ir: GrayImage, vi: GrayImage, dataRange: number): number {
  const fm = uniformMomentsFloat32(fused, WIN);
  return meanSsim(uniformMomentsFloat32(ir, WIN, fused), fm, dataRange) + meanSsim(uniformMomentsFloat32(vi, WIN, fused), fm, dataRange);
}

/** SSIM: ssim(F, IR) + ssim(F, VI), data range 255 (the meaningful one for 8-bit images). */
export const SSIM: MetricFn = (fused, ir, vi) => {
  checkTriple('SSIM', fused, ir, vi, WIN);
  return ssimSum(fused, ir, vi, 255);
};

/**
 * SSIM_cddfuse: what the CDDFuse evaluator prints. It calls structural_similarity on float images
 * without a data range, so scikit-image assumes the float range -1..1 (data range 2) and the
 * stabilising constants become almost 0. A compatibility option for comparing with published tables.
 */
export const SSIM_cddfuse: MetricFn = (fused, ir, vi) => {
  checkTriple('SSIM_cddfuse', fused, ir, vi, WIN);
  return ssimSum(fused, ir, vi, 2);
};

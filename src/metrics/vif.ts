import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { filterMoments, filterValidSeparable, gaussianWindow1D, type LocalMoments, type Plane } from './filters.js';

/**
 * VIF: pixel-domain multi-scale visual information fidelity (Sheikh & Bovik's vifp), as the reference
 * evaluator computes it: VIF(IR, F) + VIF(VI, F). Four scales; scale s uses an N = 2^(5-s) + 1
 * Gaussian window with sd N/5; above scale 1 both images are first filtered ('valid') and subsampled
 * by 2. sigma_n^2 = 2, eps = 1e-10, the usual fixes for degenerate variances; NaN gives 1.
 * Windows are separable, so each 'valid' 2-D filter is two 1-D passes, and the fused image's
 * pyramid, local means and energies are computed once for both sources.
 */
const SIGMA_NSQ = 2;
const EPS = 1e-10;
const SCALES = [1, 2, 3, 4].map((scale) => {
  const n = 2 ** (5 - scale) + 1;
  return { scale, window: gaussianWindow1D(n, n / 5) };
});

/** Smallest side length for which every scale still has a non-empty 'valid' output (41). */
export const VIF_MIN_SIDE = (() => {
  for (let side = 1; ; side++) {
    let s = side, ok = true;
    for (const { scale, window } of SCALES) {
      const n = window.length;
      if (scale > 1) {
        if (s < n) { ok = false; break; }
        s = Math.floor((s - n) / 2) + 1;
      }
      if (s < n) { ok = false; break; }
    }
    if (ok) return side;
  }
})();

/** Per scale: the (filtered, subsampled) image and its local moments. */
interface ScaleLevel {
  level: Plane;
  moments: LocalMoments;
}

/** The fused image's pyramid with local mean and mean of squares; computed once for both sources. */
function pyramid(img: Plane, partner?: ScaleLevel[]): ScaleLevel[] {
  const out: ScaleLevel[] = [];
  let level = img;
  SCALES.forEach(({ scale, window }, k) => {
    if (scale > 1) level = filterValidSeparable(level, window, 2);
    out.push({ level, moments: filterMoments(level, window, partner?.[k].level) });
  });
  return out;
}

/**
 * Products of up to LOG_BATCH factors (each at most 1 + 255^2/8 ~ 8e3, since local variances of
 * 0..255 images are at most 255^2/4 and g^2 s1 <= s2 by Cauchy-Schwarz) stay far below 1e308, so the
 * sum of log10 terms is taken as log10 of batched products: 16x fewer log10 calls, same value to ~1e-15.
 */
const LOG_BATCH = 16;

/** vifp(ref, dist); `ref` carries the cross moments with dist. */
function vifFromPyramids(ref: ScaleLevel[], dist: ScaleLevel[]): number {
  let num = 0, den = 0;
  for (let k = 0; k < SCALES.length; k++) {
    const r = ref[k].moments, d = dist[k].moments;
    const cross = r.cross as Float64Array;
    let pNum = 1, pDen = 1, batch = 0;
    for (let i = 0; i < cross.length; i++) {
      const mu1 = r.mean[i], mu2 = d.mean[i];
      let s1 = r.meanSq[i] - mu1 * mu1;
      let s2 = d.meanSq[i] - mu2 * mu2;
      const s12 = cross[i] - mu1 * mu2;
      if (s1 < 0) s1 = 0;
      if (s2 < 0) s2 = 0;
      let g = s12 / (s1 + EPS);
      let sv = s2 - g * s12;
      if (s1 < EPS) { g = 0; sv = s2; s1 = 0; }
      if (s2 < EPS) { g = 0; sv = 0; }
      if (g < 0) { sv = s2; g = 0; }
      if (sv <= EPS) sv = EPS;
      pNum *= 1 + (g * g * s1) / (sv + SIGMA_NSQ);
      pDen *= 1 + s1 / SIGMA_NSQ;
      if (++batch === LOG_BATCH) {
        num += Math.log10(pNum);
        den += Math.log10(pDen);
        pNum = pDen = 1;
        batch = 0;
      }
    }
    num += Math.log10(pNum);
    den += Math.log10(pDen);
  }
  const v = num / den;
  return Number.isNaN(v) ? 1 : v;
}

export const VIF: MetricFn = (fused, ir, vi) => {
  checkTriple('VIF', fused, ir, vi, VIF_MIN_SIDE);
  const f = pyramid(fused);
  return vifFromPyramids(pyramid(ir, f), f) + vifFromPyramids(pyramid(vi, f), f);
};

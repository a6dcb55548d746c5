import type { MetricFn } from './types.js';
import { checkTriple } from './validate.js';
import { sobelSame, type Plane } from './filters.js';

/**
 * Qabf (Xydeas & Petrovic): how much of the sources' edge strength and orientation the fused image
 * keeps, weighted by source edge strength. Reference conventions: Sobel by zero-padded 'same'
 * convolution, orientation atan(gy/gx) (pi/2 where gx = 0), and the quirk that where a source's edge
 * strength equals the fused one the strength ratio is taken as that strength itself (kept to match).
 */
const TG = 0.9994, KG = -15, DG = 0.5;
const TA = 0.9879, KA = -22, DA = 0.8;
const HALF_PI = Math.PI / 2;

function strengthAndAngle(img: Plane): { g: Float64Array; a: Float64Array } {
  const { gx, gy } = sobelSame(img);
  const g = new Float64Array(gx.length);
  const a = new Float64Array(gx.length);
  for (let i = 0; i < gx.length; i++) {
    g[i] = Math.sqrt(gx[i] * gx[i] + gy[i] * gy[i]);
    a[i] = gx[i] === 0 ? HALF_PI : Math.atan(gy[i] / gx[i]);
  }
  return { g, a };
}

/** Edge preservation Q_XF at one pixel. */
function preservation(gX: number, aX: number, gF: number, aF: number): number {
  const strength = gX > gF ? gF / gX : gX === gF ? gF : gX / gF;
  const orientation = 1 - Math.abs(aX - aF) / HALF_PI;
  const qg = TG / (1 + Math.exp(KG * (strength - DG)));
  const qa = TA / (1 + Math.exp(KA * (orientation - DA)));
  return qg * qa;
}

export const Qabf: MetricFn = (fused, ir, vi) => {
  checkTriple('Qabf', fused, ir, vi);
  const F = strengthAndAngle(fused), A = strengthAndAngle(ir), B = strengthAndAngle(vi);
  let num = 0, den = 0;
  for (let i = 0; i < F.g.length; i++) {
    const gA = A.g[i], gB = B.g[i];
    num += preservation(gA, A.a[i], F.g[i], F.a[i]) * gA + preservation(gB, B.a[i], F.g[i], F.a[i]) * gB;
    den += gA + gB;
  }
  return num / den;
};

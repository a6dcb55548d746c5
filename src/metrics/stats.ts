/** Small whole-image statistics shared by several metrics (two-pass, float64). */

export function mean(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/**
 * Pearson correlation as the reference writes it: sum((x-mx)(y-my)) / sqrt(sum((x-mx)^2) sum((y-my)^2)).
 * A constant image gives 0/0 = NaN, as numpy does.
 */
export function correlation(x: Float64Array, y: Float64Array): number {
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Mean squared difference of two equal-length arrays. */
export function meanSquaredError(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    s += d * d;
  }
  return s / x.length;
}

/** Histogram bin of a gray value: the reference rounds to uint8 (values are integers already). */
export function grayBin(v: number): number {
  return Math.round(v);
}

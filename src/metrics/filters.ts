/**
 * Filters shared by the metrics (one place, as piq's `functional/`): windows, 'valid' 2-D filtering
 * with separable kernels, and Sobel gradients. All work on row-major Float64Array planes and
 * allocate only their outputs.
 */

/** A row-major float plane. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

/**
 * The 1-D factor of MATLAB's `fspecial('gaussian', [n n], sd)` (as the reference VIF builds it):
 * taps below eps * max are zeroed, then the window is normalised to sum 1. The 2-D window is the
 * outer product of this factor with itself, provided no tap of the 2-D window is zeroed; that holds
 * for every window VIF uses (smallest corner tap exp(-6.25) of the max), and it is checked here
 * because separability is what makes VIF fast.
 */
export function gaussianWindow1D(n: number, sd: number): Float64Array {
  const m = (n - 1) / 2;
  const cornerRatio = Math.exp(-(2 * m * m) / (2 * sd * sd));
  if (cornerRatio < Number.EPSILON) {
    throw new RangeError(`gaussianWindow1D(${n}, ${sd}): the 2-D window would have zeroed taps and is not separable`);
  }
  const g = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - m;
    g[i] = Math.exp(-(x * x) / (2 * sd * sd));
    sum += g[i];
  }
  for (let i = 0; i < n; i++) g[i] /= sum;
  return g;
}

/** A box (uniform) window of n taps summing to 1. */
export function uniformWindow1D(n: number): Float64Array {
  return new Float64Array(n).fill(1 / n);
}

/** The filters below fold symmetric taps (k[t] == k[n-1-t]): half the multiplies, ~1.5x faster. */
function checkSymmetric(k: Float64Array, who: string): void {
  for (let t = 0; t < k.length >> 1; t++) {
    if (k[t] !== k[k.length - 1 - t]) throw new RangeError(`${who}: the window must be symmetric`);
  }
}

/**
 * 'valid' 2-D filtering of `src` with the separable symmetric window k (x) k: output (H-n+1) x (W-n+1),
 * keeping every `step`-th row and column from the first (numpy `[::step, ::step]`). For a symmetric
 * window correlation and convolution are the same, which is what `convolve2d(x, rot90(win, 2), 'valid')`
 * computes. Vertical pass into one reused row buffer, then the horizontal pass: cache-friendly.
 */
export function filterValidSeparable(src: Plane, k: Float64Array, step = 1): Plane {
  const n = k.length, half = n >> 1, odd = n & 1;
  const { width: w, height: h, data } = src;
  if (w < n || h < n) throw new RangeError(`filterValidSeparable: ${w}x${h} plane is smaller than the ${n}-tap window`);
  checkSymmetric(k, 'filterValidSeparable');
  const outW = Math.floor((w - n) / step) + 1;
  const outH = Math.floor((h - n) / step) + 1;
  const row = new Float64Array(w);
  const out = new Float64Array(outH * outW);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * step;
    row.fill(0);
    if (odd) {
      const kt = k[half], p = (y0 + half) * w;
      for (let x = 0; x < w; x++) row[x] = kt * data[p + x];
    }
    for (let t = 0; t < half; t++) {
      const kt = k[t], p = (y0 + t) * w, q = (y0 + n - 1 - t) * w;
      for (let x = 0; x < w; x++) row[x] += kt * (data[p + x] + data[q + x]);
    }
    const orow = oy * outW;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * step;
      let s = odd ? k[half] * row[x0 + half] : 0;
      for (let t = 0; t < half; t++) s += k[t] * (row[x0 + t] + row[x0 + n - 1 - t]);
      out[orow + ox] = s;
    }
  }
  return { width: outW, height: outH, data: out };
}

/** Local first and second moments of an image over a window ('valid' positions). */
export interface LocalMoments {
  width: number;
  height: number;
  /** filter(a) */
  mean: Float64Array;
  /** filter(a * a) */
  meanSq: Float64Array;
  /** filter(a * b), when a partner image b was given */
  cross?: Float64Array;
}

/**
 * filter(a), filter(a^2) and optionally filter(a*b) in one pass ('valid', separable symmetric window k):
 * the same numbers as filterValidSeparable on a, a*a and a*b, without the product planes and with
 * the loads shared (about 1.7x faster for VIF's windows).
 */
export function filterMoments(a: Plane, k: Float64Array, b?: Plane): LocalMoments {
  const n = k.length, half = n >> 1, odd = n & 1;
  const { width: w, height: h } = a;
  if (w < n || h < n) throw new RangeError(`filterMoments: ${w}x${h} plane is smaller than the ${n}-tap window`);
  if (b && (b.width !== w || b.height !== h)) throw new RangeError('filterMoments: the two planes differ in size');
  checkSymmetric(k, 'filterMoments');
  const outW = w - n + 1, outH = h - n + 1;
  const x1 = a.data, x2 = b?.data;
  const r1 = new Float64Array(w), r2 = new Float64Array(w), r12 = new Float64Array(x2 ? w : 0);
  const mean = new Float64Array(outW * outH), meanSq = new Float64Array(outW * outH);
  const cross = x2 ? new Float64Array(outW * outH) : undefined;
  const kMid = odd ? k[half] : 0;
  for (let oy = 0; oy < outH; oy++) {
    // Vertical pass: the middle tap initialises the row buffers, then symmetric pairs of rows.
    const pm = (oy + half) * w;
    for (let x = 0; x < w; x++) {
      const u = odd ? x1[pm + x] : 0, kv = kMid * u;
      r1[x] = kv;
      r2[x] = kv * u;
      if (x2) r12[x] = kv * (odd ? x2[pm + x] : 0);
    }
    for (let t = 0; t < half; t++) {
      const kt = k[t], p = (oy + t) * w, q = (oy + n - 1 - t) * w;
      if (x2) {
        for (let x = 0; x < w; x++) {
          const u = x1[p + x], v = x1[q + x];
          r1[x] += kt * (u + v);
          r2[x] += kt * (u * u + v * v);
          r12[x] += kt * (u * x2[p + x] + v * x2[q + x]);
        }
      } else {
        for (let x = 0; x < w; x++) {
          const u = x1[p + x], v = x1[q + x];
          r1[x] += kt * (u + v);
          r2[x] += kt * (u * u + v * v);
        }
      }
    }
    const orow = oy * outW;
    for (let ox = 0; ox < outW; ox++) {
      const c = ox + half;
      let s1 = kMid * r1[c], s2 = kMid * r2[c], s12 = cross ? kMid * r12[c] : 0;
      for (let t = 0; t < half; t++) {
        const kt = k[t], i = ox + t, j = ox + n - 1 - t;
        s1 += kt * (r1[i] + r1[j]);
        s2 += kt * (r2[i] + r2[j]);
        if (cross) s12 += kt * (r12[i] + r12[j]);
      }
      mean[orow + ox] = s1;
      meanSq[orow + ox] = s2;
      if (cross) cross[orow + ox] = s12;
    }
  }
  return { width: outW, height: outH, mean, meanSq, cross };
}

/**
 * Sobel gradients as the reference Qabf computes them: `convolve2d(img, h, 'same')` with zero padding,
 * gx with [[-1,0,1],[-2,0,2],[-1,0,1]] and gy with [[1,2,1],[0,0,0],[-1,-2,-1]]. True convolution flips
 * the kernels (gx = left column minus right column, gy = lower row minus upper row); Qabf uses only
 * magnitudes and gy/gx, which the flip leaves alone, but the signs are kept as the reference has them.
 */
export function sobelSame(src: Plane): { gx: Float64Array; gy: Float64Array } {
  const { width: w, height: h, data } = src;
  const gx = new Float64Array(w * h);
  const gy = new Float64Array(w * h);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : data[y * w + x]);
  for (let y = 0; y < h; y++) {
    const interiorRow = y > 0 && y < h - 1;
    for (let x = 0; x < w; x++) {
      let a, b, c, d, e, f, g, i; // neighbours: a b c / d . e / f g i  (rows y-1, y, y+1)
      if (interiorRow && x > 0 && x < w - 1) {
        const p = y * w + x;
        a = data[p - w - 1]; b = data[p - w]; c = data[p - w + 1];
        d = data[p - 1]; e = data[p + 1];
        f = data[p + w - 1]; g = data[p + w]; i = data[p + w + 1];
      } else {
        a = at(x - 1, y - 1); b = at(x, y - 1); c = at(x + 1, y - 1);
        d = at(x - 1, y); e = at(x + 1, y);
        f = at(x - 1, y + 1); g = at(x, y + 1); i = at(x + 1, y + 1);
      }
      // convolution: out[y][x] = sum h[k][l] * img[y+1-k][x+1-l]
      gx[y * w + x] = (a + 2 * d + f) - (c + 2 * e + i);
      gy[y * w + x] = (f + 2 * g + i) - (a + 2 * b + c);
    }
  }
  return { gx, gy };
}

/** Local moments held as float32, as scipy returns them for float32 input. */
export interface LocalMoments32 {
  width: number;
  height: number;
  mean: Float32Array;
  meanSq: Float32Array;
  cross?: Float32Array;
}

/**
 * scipy.ndimage.uniform_filter(x, n) on a float32 image, 'valid' region only, for x = a, a*a and
 * (optionally) a*b: scipy filters axis 0 then axis 1, each pass averaging in double and storing float32;
 * the products are float32 products. Storing into Float32Array does that rounding. This reproduces
 * scikit-image's SSIM on the reference evaluator's float32 images bit for bit.
 */
export function uniformMomentsFloat32(a: Plane, n: number, b?: Plane): LocalMoments32 {
  const { width: w, height: h } = a;
  if (w < n || h < n) throw new RangeError(`uniformMomentsFloat32: ${w}x${h} plane is smaller than the ${n}-tap window`);
  const outW = w - n + 1, outH = h - n + 1;
  const x1 = a.data, x2 = b?.data;
  const r1 = new Float32Array(w), r2 = new Float32Array(w), r12 = new Float32Array(x2 ? w : 0);
  const mean = new Float32Array(outW * outH), meanSq = new Float32Array(outW * outH);
  const cross = x2 ? new Float32Array(outW * outH) : undefined;
  const f = Math.fround;
  for (let oy = 0; oy < outH; oy++) {
    for (let x = 0; x < w; x++) {
      let s1 = 0, s2 = 0, s12 = 0;
      for (let t = 0, p = oy * w + x; t < n; t++, p += w) {
        const u = x1[p];
        s1 += u;
        s2 += f(u * u);
        if (x2) s12 += f(u * x2[p]);
      }
      r1[x] = s1 / n;
      r2[x] = s2 / n;
      if (x2) r12[x] = s12 / n;
    }
    const orow = oy * outW;
    for (let ox = 0; ox < outW; ox++) {
      let s1 = 0, s2 = 0, s12 = 0;
      for (let t = 0; t < n; t++) {
        s1 += r1[ox + t];
        s2 += r2[ox + t];
        if (cross) s12 += r12[ox + t];
      }
      mean[orow + ox] = s1 / n;
      meanSq[orow + ox] = s2 / n;
      if (cross) cross[orow + ox] = s12 / n;
    }
  }
  return { width: outW, height: outH, mean, meanSq, cross };
}

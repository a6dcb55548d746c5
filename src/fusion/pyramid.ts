/**
 * Gaussian and Laplacian pyramids (Burt & Adelson) on float planes of any size, with the 5-tap binomial
 * kernel [1 4 6 4 1]/16 and mirrored borders (OpenCV's BORDER_REFLECT_101), like cv2.pyrDown/pyrUp.
 * Each level halves the size rounding up (37 -> 19 -> 10); expanding back takes the exact target size,
 * so odd sizes reconstruct without cropping. Reconstruction is exact up to float rounding.
 */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

const KERNEL = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];
/** Stop shrinking before the coarsest level's shorter side would drop below this many pixels. */
export const MIN_LEVEL_SIDE = 4;

function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/**
 * Separable 5-tap filter with gain `gain` per axis (1 to blur, 2 after inserting zeros), evaluated only
 * at columns x = 0, step, 2 step, ... and rows likewise (step 2 for pyrDown: no work on pixels that are
 * dropped). Interior taps skip the border mirroring.
 */
function filter5(p: Plane, gain: number, step: 1 | 2): Plane {
  const { width: w, height: h, data } = p;
  const ow = Math.ceil(w / step), oh = Math.ceil(h / step);
  const a = KERNEL[0] * gain, b = KERNEL[1] * gain, c = KERNEL[2] * gain;
  const tmp = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    const row = y * w, trow = y * ow;
    for (let ox = 0; ox < ow; ox++) {
      const x = ox * step;
      tmp[trow + ox] =
        x >= 2 && x < w - 2
          ? a * (data[row + x - 2] + data[row + x + 2]) + b * (data[row + x - 1] + data[row + x + 1]) + c * data[row + x]
          : a * (data[row + mirror(x - 2, w)] + data[row + mirror(x + 2, w)]) + b * (data[row + mirror(x - 1, w)] + data[row + mirror(x + 1, w)]) + c * data[row + x];
    }
  }
  const out = new Float64Array(ow * oh);
  for (let oy = 0; oy < oh; oy++) {
    const y = oy * step;
    const m2 = mirror(y - 2, h) * ow, m1 = mirror(y - 1, h) * ow, z = y * ow, p1 = mirror(y + 1, h) * ow, p2 = mirror(y + 2, h) * ow;
    const orow = oy * ow;
    for (let x = 0; x < ow; x++) out[orow + x] = a * (tmp[m2 + x] + tmp[p2 + x]) + b * (tmp[m1 + x] + tmp[p1 + x]) + c * tmp[z + x];
  }
  return { width: ow, height: oh, data: out };
}

/** Blur, then keep every second row and column: ceil(w/2) x ceil(h/2). */
export function pyrDown(p: Plane): Plane {
  return filter5(p, 1, 2);
}

/** Insert zeros to width x height (the finer level's size), then interpolate with the kernel x 4. */
export function pyrUp(p: Plane, width: number, height: number): Plane {
  const up = new Float64Array(width * height);
  for (let y = 0; y < p.height && 2 * y < height; y++) {
    for (let x = 0; x < p.width && 2 * x < width; x++) up[2 * y * width + 2 * x] = p.data[y * p.width + x];
  }
  return filter5({ width, height, data: up }, 2, 1);
}

/** How many levels (details + base) fit: at most `wanted`, shorter side of the base >= MIN_LEVEL_SIDE. */
export function levelsFor(width: number, height: number, wanted: number): number {
  let levels = 1;
  let side = Math.min(width, height);
  while (levels < wanted && Math.ceil(side / 2) >= MIN_LEVEL_SIDE) {
    side = Math.ceil(side / 2);
    levels++;
  }
  return levels;
}

/** [detail_0 (finest), ..., detail_{L-2}, base]: detail_k = G_k - up(G_{k+1}), base = G_{L-1}. */
export function laplacianPyramid(p: Plane, levels: number): Plane[] {
  const out: Plane[] = [];
  let g = p;
  for (let k = 0; k < levels - 1; k++) {
    const next = pyrDown(g);
    const up = pyrUp(next, g.width, g.height);
    const detail = new Float64Array(g.data.length);
    for (let i = 0; i < detail.length; i++) detail[i] = g.data[i] - up.data[i];
    out.push({ width: g.width, height: g.height, data: detail });
    g = next;
  }
  out.push(g);
  return out;
}

/** Inverse of laplacianPyramid: expand the base and add the details back, coarse to fine. */
export function collapsePyramid(pyr: Plane[]): Plane {
  let g = pyr[pyr.length - 1];
  for (let k = pyr.length - 2; k >= 0; k--) {
    const d = pyr[k];
    const up = pyrUp(g, d.width, d.height);
    for (let i = 0; i < up.data.length; i++) up.data[i] += d.data[i];
    g = up;
  }
  return g;
}

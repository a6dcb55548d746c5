import type { Image8 } from '../image/types.js';
import type { BinaryMask } from './types.js';

/**
 * Warm-object segmentation in the infrared image: in a night road scene people, running engines and
 * tyres are the warmest things around them, so they stand out of their local background even where a
 * daylight-trained detector sees nothing. Steps:
 *  1. local contrast c = IR - mean of IR over a `window` x `window` box (integral image, O(pixels));
 *  2. candidates c >= `minContrast` (gray levels); 8-connected components;
 *  3. shape, size and scene-geometry priors per component (area, height, aspect, fill of its box,
 *     bottom edge below the `horizon` share of the image: road users stand on the road);
 *  4. each kept component becomes an object of class person (tall: height/width >= `personAspect`)
 *     or car, with its pixels (closed by one pixel) as its mask.
 * Used by the built-in SIG (src/semantics/default-provider.ts) with the detector's boxes; defaults
 * tuned on MSRS train (docs/sig.md), never on the test labels.
 */

export interface WarmObjectOptions {
  /** Side of the local-mean box, pixels (odd; default 61). */
  window?: number;
  /** Least contrast over the local mean, gray levels 0..255 (default 28). */
  minContrast?: number;
  /** Least IR level of a candidate pixel, 0..255 (default 0: contrast alone decides). */
  minLevel?: number;
  /** Component area bounds, pixels (default 25 .. 1.5 % of the image). */
  minArea?: number;
  maxAreaShare?: number;
  /** Least component height, pixels (default 8). */
  minHeight?: number;
  /** Least share of its bounding box a component fills (default 0.25: not a thin line or outline). */
  minFill?: number;
  /** Height/width from which a component is a person (default 1.3); below it a vehicle. */
  personAspect?: number;
  /** Most height/width (default 5: poles and tree trunks are thinner). */
  maxAspect?: number;
  /** Least width/height of a vehicle-shaped component, i.e. not taller than this share (default 0.4). */
  minAspect?: number;
  /** A component's bottom edge must lie below this share of the image height (default 0.3). */
  horizon?: number;
  /** Top edge above this share of the height and touching the top border = sky/building, dropped. */
  dropTouchingTop?: boolean;
}

export const WARM_OBJECT_DEFAULTS: Readonly<Required<WarmObjectOptions>> = Object.freeze({
  window: 61,
  minContrast: 28,
  minLevel: 0,
  minArea: 25,
  maxAreaShare: 0.015,
  minHeight: 8,
  minFill: 0.25,
  personAspect: 1.3,
  maxAspect: 5,
  minAspect: 0.4,
  horizon: 0.3,
  dropTouchingTop: true,
});

export interface WarmObject {
  /** Bounding box, pixels, x2/y2 exclusive. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** 'person' (tall) or 'car' (wide or square). */
  label: 'person' | 'car';
  /** Mean local contrast of its pixels, gray levels. */
  contrast: number;
  area: number;
  /** Its pixels, as indices y * width + x. */
  pixels: Int32Array;
}

/** IR luminance plane (a 3-channel IR file is taken as its mean, as the detector sees it). */
function irPlane(ir: Image8): Uint8Array {
  if (ir.channels === 1) return ir.data;
  const n = ir.width * ir.height, out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = Math.round((ir.data[j] + ir.data[j + 1] + ir.data[j + 2]) / 3);
  return out;
}

/** Local contrast c = v - boxmean(v) over a window x window box clipped at the borders. */
export function localContrast(v: Uint8Array, w: number, h: number, window: number): Float32Array {
  const r = Math.floor(window / 2);
  const integ = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += v[y * w + x];
      integ[(y + 1) * (w + 1) + x + 1] = integ[y * (w + 1) + x + 1] + row;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(w, x + r + 1);
      const s = integ[y1 * (w + 1) + x1] - integ[y0 * (w + 1) + x1] - integ[y1 * (w + 1) + x0] + integ[y0 * (w + 1) + x0];
      out[y * w + x] = v[y * w + x] - s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/**
 * The warm objects of an IR image and their pixels painted into `out` (when given).
 * IR: 1 or 3 channels, 8-bit. Returns the kept components, largest first.
 */
export function warmObjects(ir: Image8, options: WarmObjectOptions = {}, out?: BinaryMask): WarmObject[] {
  const o = { ...WARM_OBJECT_DEFAULTS, ...options };
  const { width: w, height: h } = ir;
  const v = irPlane(ir);
  const c = localContrast(v, w, h, o.window);
  const cand = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) cand[i] = c[i] >= o.minContrast && v[i] >= o.minLevel ? 1 : 0;
  const labels = new Int32Array(w * h);
  const kept: WarmObject[] = [];
  const stack: number[] = [];
  const members: number[] = [];
  let id = 0;
  for (let s = 0; s < w * h; s++) {
    if (!cand[s] || labels[s]) continue;
    id++;
    labels[s] = id;
    stack.push(s);
    let area = 0, sumC = 0, x1 = w, y1 = h, x2 = 0, y2 = 0;
    members.length = 0;
    while (stack.length) {
      const p = stack.pop()!;
      members.push(p);
      const x = p % w, y = (p - x) / w;
      area++;
      sumC += c[p];
      if (x < x1) x1 = x;
      if (x >= x2) x2 = x + 1;
      if (y < y1) y1 = y;
      if (y >= y2) y2 = y + 1;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const q = yy * w + xx;
          if (cand[q] && !labels[q]) {
            labels[q] = id;
            stack.push(q);
          }
        }
      }
    }
    const bw = x2 - x1, bh = y2 - y1, aspect = bh / bw;
    const ok =
      area >= o.minArea &&
      area <= o.maxAreaShare * w * h &&
      bh >= o.minHeight &&
      area >= o.minFill * bw * bh &&
      aspect <= o.maxAspect &&
      aspect >= o.minAspect &&
      y2 >= o.horizon * h &&
      !(o.dropTouchingTop && y1 === 0);
    if (!ok) continue;
    const pixels = Int32Array.from(members);
    kept.push({ x1, y1, x2, y2, area, contrast: sumC / area, label: aspect >= o.personAspect ? 'person' : 'car', pixels });
    if (out) for (const p of pixels) out.data[p] = 1;
  }
  return kept.sort((a, b) => b.area - a.area);
}

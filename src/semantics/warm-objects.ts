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
 *     or car, with its pixels as its mask;
 *  5. (SIG v3 options) objects fainter than a per-class mean contrast are dropped, and the clearly warm
 *     ones grow by hysteresis into their cooler parts (`minMeanContrast`, `grow`).
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
  /**
   * Least mean contrast of a kept object, by class, gray levels (default none: `minContrast` alone).
   * SIG v3: person 40, car 45; fainter components were mostly lamps, windows and warm walls on MSRS train.
   */
  minMeanContrast?: Readonly<Partial<Record<'person' | 'car', number>>>;
  /**
   * Hysteresis growth (SIG v3): an object whose mean contrast is at least `minMeanContrast` takes in the
   * 4-connected pixels of contrast >= `contrast` within its box widened by `margin` of its width and
   * height on every side: a warm head and torso pull in the cooler legs. Grown pixels are tested on
   * contrast alone (not `minLevel`), and may take in a component the shape priors rejected. Default off.
   */
  grow?: Readonly<{ contrast: number; margin: number; minMeanContrast: number }> | false;
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
  minMeanContrast: Object.freeze({}),
  grow: false,
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
  /** Its pixels, as indices y * width + x (with `grow`, the grown ones too; the box and contrast stay the seed's). */
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
    const label = aspect >= o.personAspect ? 'person' : 'car', contrast = sumC / area;
    if (contrast < (o.minMeanContrast[label] ?? -Infinity)) continue;
    kept.push({ x1, y1, x2, y2, area, contrast, label, pixels: Int32Array.from(members) });
  }
  kept.sort((a, b) => b.area - a.area);
  if (o.grow) growObjects(kept, c, w, h, o.grow);
  if (out) for (const k of kept) for (const p of k.pixels) out.data[p] = 1;
  return kept;
}

/** Hysteresis growth of the objects (largest first), each into pixels no object holds yet. */
function growObjects(objects: WarmObject[], c: Float32Array, w: number, h: number, g: Exclude<WarmObjectOptions['grow'], false | undefined>): void {
  const taken = new Uint8Array(w * h);
  for (const k of objects) for (const p of k.pixels) taken[p] = 1;
  for (const k of objects) {
    if (k.contrast < g.minMeanContrast) continue;
    const bw = k.x2 - k.x1, bh = k.y2 - k.y1;
    const X1 = Math.max(0, Math.floor(k.x1 - g.margin * bw)), X2 = Math.min(w, Math.ceil(k.x2 + g.margin * bw));
    const Y1 = Math.max(0, Math.floor(k.y1 - g.margin * bh)), Y2 = Math.min(h, Math.ceil(k.y2 + g.margin * bh));
    const grown = Array.from(k.pixels);
    const stack = [...grown];
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w, y = (p - x) / w;
      const visit = (xx: number, yy: number) => {
        if (xx < X1 || xx >= X2 || yy < Y1 || yy >= Y2) return;
        const q = yy * w + xx;
        if (taken[q] || c[q] < g.contrast) return;
        taken[q] = 1;
        grown.push(q);
        stack.push(q);
      };
      visit(x - 1, y);
      visit(x + 1, y);
      visit(x, y - 1);
      visit(x, y + 1);
    }
    k.pixels = Int32Array.from(grown);
  }
}

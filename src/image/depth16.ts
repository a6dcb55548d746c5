/**
 * 16-bit to 8-bit mapping for thermal frames (16-bit PNG/TIFF from radiometric cameras hold raw counts
 * in a narrow band of 0..65535, so a fixed shift leaves them nearly black; hence a stretch by default).
 *
 * - `minmax` (default): linear, the image's min -> 0 and max -> 255: round((v - min) * 255 / (max - min)).
 * - `percentile`: linear between the 0.5th and 99.5th percentiles (clipped outside), robust to a few
 *   hot or dead pixels. The p-th percentile is the smallest value v with count(values <= v) >= p * n.
 * - `shift`: fixed, round(v / 257) (65535 -> 255): keeps absolute levels comparable across frames.
 *
 * One mapping for all channels of an image (colour balance is kept). A flat image (max = min) falls
 * back to `shift`. Rounding is half away from zero, i.e. Math.round on non-negative values.
 */
export type Stretch16 = 'minmax' | 'percentile' | 'shift';

export const STRETCH_MODES: readonly Stretch16[] = ['minmax', 'percentile', 'shift'];
export const DEFAULT_STRETCH: Stretch16 = 'minmax';

const LOW_PERCENTILE = 0.005;
const HIGH_PERCENTILE = 0.995;

/** Smallest value v with count(values <= v) >= fraction * n, from a 65536-bin histogram. */
function percentile(hist: Uint32Array, n: number, fraction: number): number {
  const target = fraction * n;
  let acc = 0;
  for (let v = 0; v < hist.length; v++) {
    acc += hist[v];
    if (acc >= target) return v;
  }
  return hist.length - 1;
}

/** The [lo, hi] input range that maps to [0, 255] under a stretch mode. */
export function stretchRange(values: Uint16Array, mode: Stretch16): [number, number] {
  if (mode === 'shift' || values.length === 0) return [0, 65535];
  if (mode === 'minmax') {
    let lo = 65535, hi = 0;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  }
  const hist = new Uint32Array(65536);
  for (const v of values) hist[v]++;
  return [percentile(hist, values.length, LOW_PERCENTILE), percentile(hist, values.length, HIGH_PERCENTILE)];
}

/** Map 16-bit samples to 8-bit with the given stretch. */
export function stretch16to8(values: Uint16Array, mode: Stretch16 = DEFAULT_STRETCH): Uint8Array {
  const out = new Uint8Array(values.length);
  const [lo, hi] = stretchRange(values, mode);
  if (mode === 'shift' || hi <= lo) {
    for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i] / 257);
    return out;
  }
  const scale = 255 / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] < lo ? lo : values[i] > hi ? hi : values[i];
    out[i] = Math.round((v - lo) * scale);
  }
  return out;
}

/**
 * Delta of eq. 2: normalise the noise-difference map to [0, 1] and binarise it.
 *
 * Default "diffedit": DiffEdit's rule (Couairon et al. 2022; diffusers'
 * StableDiffusionDiffEditPipeline.generate_mask): clamp the map at `ratio` x its mean, divide by
 * that clamp (so 1 = "at least ratio x the average change"), keep values above `threshold`
 * (0.5, i.e. pixels whose change exceeds 1.5x the mean at ratio 3). Tied to the mean rather than
 * the max, so one extreme pixel cannot blank the rest, and an image where nothing changes gives
 * an empty mask rather than amplified noise.
 * "max": divide by the maximum, keep values above `fraction`.
 * "otsu": divide by the maximum, keep values above Otsu's threshold (no parameter).
 */
export type Binarize = { method: 'diffedit'; ratio: number; threshold: number } | { method: 'max'; fraction: number } | { method: 'otsu' };

export const DEFAULT_BINARIZE: Binarize = { method: 'diffedit', ratio: 3, threshold: 0.5 };

/** The map in [0, 1] as the method defines it; all zeros when the map is all zeros. */
export function normalizeDifference(map: Float32Array, b: Binarize): Float32Array {
  const out = new Float32Array(map.length);
  let scale: number;
  if (b.method === 'diffedit') {
    let sum = 0;
    for (const v of map) sum += v;
    scale = (sum / map.length) * b.ratio;
  } else {
    scale = 0;
    for (const v of map) if (v > scale) scale = v;
  }
  if (!(scale > 0)) return out;
  for (let i = 0; i < map.length; i++) out[i] = Math.min(map[i], scale) / scale;
  return out;
}

/** 1 where the normalised value is above the method's threshold. */
export function binarize(normalized: Float32Array, b: Binarize): Uint8Array {
  const t = b.method === 'diffedit' ? b.threshold : b.method === 'max' ? b.fraction : otsuThreshold(normalized);
  const out = new Uint8Array(normalized.length);
  for (let i = 0; i < normalized.length; i++) out[i] = normalized[i] > t ? 1 : 0;
  return out;
}

/** Otsu's threshold of values in [0, 1] over 256 bins: the bin edge maximising between-class variance. */
export function otsuThreshold(values: Float32Array): number {
  const bins = new Float64Array(256);
  for (const v of values) bins[Math.min(255, Math.max(0, Math.floor(v * 256)))]++;
  const total = values.length;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) sumAll += i * bins[i];
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestBin = 0;
  for (let i = 0; i < 255; i++) {
    w0 += bins[i];
    sum0 += i * bins[i];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) ** 2;
    if (between > best) {
      best = between;
      bestBin = i;
    }
  }
  return (bestBin + 1) / 256;
}

export function validateBinarize(b: Binarize): Binarize {
  const ok =
    (b.method === 'diffedit' && b.ratio > 0 && b.threshold >= 0 && b.threshold < 1) ||
    (b.method === 'max' && b.fraction >= 0 && b.fraction < 1) ||
    b.method === 'otsu';
  if (!ok) throw new RangeError(`bad binarisation settings ${JSON.stringify(b)}`);
  return b;
}

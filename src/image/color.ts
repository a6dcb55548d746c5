import type { GrayImage, Image8 } from './types.js';

/**
 * Gray exactly as the reference evaluator: 0.299 R + 0.587 G + 0.114 B in float, rounded to an
 * integer. A 1-channel image is taken as the same value in all three channels.
 */
export function toGray(img: Image8): GrayImage {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = img.data[i];
  } else {
    const d = img.data;
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = Math.round(0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2]);
  }
  return { width: img.width, height: img.height, data: out };
}

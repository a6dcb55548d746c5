import type { Rect } from './layout.js';

/**
 * Tiled inference for images whose activations would not fit a memory bound: overlapping tiles,
 * each run on its own, blended with linear ramps across the overlaps (weights add up to 1 at every
 * pixel, so a smooth result has no seams). The network's channel attention is global over a tile's
 * pixels, so a tiled result is not bit-identical to a whole-image one: docs/onnx-export.md gives
 * the measured difference.
 */

/** Start offsets of tiles of `tile` px covering `length`, overlapping by at least `overlap`, spread evenly. */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  if (overlap >= tile) throw new Error(`tile overlap ${overlap} must be smaller than the tile ${tile}`);
  const n = Math.ceil((length - overlap) / (tile - overlap));
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - tile)) / (n - 1)));
}

export function planTiles(width: number, height: number, tile: number, overlap: number): Rect[] {
  const rects: Rect[] = [];
  for (const y of tileStarts(height, tile, overlap)) {
    for (const x of tileStarts(width, tile, overlap)) rects.push({ x, y, width: Math.min(tile, width), height: Math.min(tile, height) });
  }
  return rects;
}

/**
 * Blend weight of each pixel of tile `r`: rising linearly from the edges that lie inside the image
 * (over `ramp` px), 1 elsewhere. Edges on the image border keep weight 1, so the border pixels,
 * covered by one tile only, are not divided by a small number.
 */
export function rampWeights(r: Rect, width: number, height: number, ramp: number): Float32Array {
  const axis = (len: number, start: number, total: number) =>
    Float32Array.from({ length: len }, (_, i) => {
      const fromLow = start > 0 ? (i + 0.5) / ramp : Infinity;
      const fromHigh = start + len < total ? (len - i - 0.5) / ramp : Infinity;
      return Math.min(1, fromLow, fromHigh);
    });
  const wx = axis(r.width, r.x, width);
  const wy = axis(r.height, r.y, height);
  const out = new Float32Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) out[y * r.width + x] = wy[y] * wx[x];
  return out;
}

/**
 * Run `runTile` on every tile (it returns the planar [channels, r.height, r.width] output of its
 * window) and blend into one planar [channels, height, width] image.
 */
export async function runTiled(
  width: number,
  height: number,
  channels: number,
  tile: number,
  overlap: number,
  runTile: (r: Rect) => Promise<Float32Array>,
): Promise<Float32Array> {
  const plane = width * height;
  const acc = new Float32Array(channels * plane);
  const weightSum = new Float32Array(plane);
  for (const r of planTiles(width, height, tile, overlap)) {
    const out = await runTile(r);
    const w = rampWeights(r, width, height, overlap);
    for (let y = 0; y < r.height; y++) {
      for (let x = 0; x < r.width; x++) {
        const t = y * r.width + x;
        const p = (r.y + y) * width + r.x + x;
        weightSum[p] += w[t];
        for (let c = 0; c < channels; c++) acc[c * plane + p] += w[t] * out[c * r.width * r.height + t];
      }
    }
  }
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) acc[c * plane + p] /= weightSum[p];
  return acc;
}

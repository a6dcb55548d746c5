import { toGray } from '../image/color.js';
import type { GrayImage, Image8 } from '../image/types.js';

/**
 * Added flicker of a fused video: how much consecutive fused frames differ, relative to how much the
 * sources themselves change.
 *
 *   flicker = sum_t mean|fused_t - fused_{t-1}|  /  sum_t (mean|IR_t - IR_{t-1}| + mean|VI_t - VI_{t-1}|) / 2
 *
 * over consecutive pairs t-1, t; all on the gray images as the reference evaluator reads them
 * (0.299 R + 0.587 G + 0.114 B, rounded). About 1 when the fusion changes as much as its sources do;
 * lower is steadier. Per-pair terms are kept too (`fusedDiffs`, `sourceDiffs`), in 0..255 grey levels.
 */
export interface FlickerSums {
  /** Consecutive pairs counted. */
  pairs: number;
  /** Sum over pairs of mean |fused_t - fused_{t-1}|. */
  fused: number;
  /** Sum over pairs of (mean |IR_t - IR_{t-1}| + mean |VI_t - VI_{t-1}|) / 2. */
  source: number;
}

export function flickerRatio(s: FlickerSums): number {
  return s.source > 0 ? s.fused / s.source : NaN;
}

export function addSums(a: FlickerSums, b: FlickerSums): FlickerSums {
  return { pairs: a.pairs + b.pairs, fused: a.fused + b.fused, source: a.source + b.source };
}

export const NO_FLICKER: FlickerSums = { pairs: 0, fused: 0, source: 0 };

/** Mean absolute difference of two gray images of one size. */
export function meanAbsDiff(a: GrayImage, b: GrayImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`meanAbsDiff: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/** Feed frames in order (add); read the sums at the end. */
export class FlickerMeter {
  private prev?: { fused: GrayImage; ir: GrayImage; vi: GrayImage };
  private sums: FlickerSums = { ...NO_FLICKER };
  readonly fusedDiffs: number[] = [];
  readonly sourceDiffs: number[] = [];

  add(fused: Image8, ir: Image8, vi: Image8): void {
    const cur = { fused: toGray(fused), ir: toGray(ir), vi: toGray(vi) };
    if (this.prev) {
      const f = meanAbsDiff(cur.fused, this.prev.fused);
      const s = (meanAbsDiff(cur.ir, this.prev.ir) + meanAbsDiff(cur.vi, this.prev.vi)) / 2;
      this.fusedDiffs.push(f);
      this.sourceDiffs.push(s);
      this.sums = { pairs: this.sums.pairs + 1, fused: this.sums.fused + f, source: this.sums.source + s };
    }
    this.prev = cur;
  }

  result(): FlickerSums {
    return { ...this.sums };
  }
}

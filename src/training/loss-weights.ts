/**
 * The loss weights, in a module without tfjs so that commands which only read or plot runs
 * (`tesg plot-log`) need not load it. The losses themselves are in ./losses.ts.
 */
import { UsageError } from '../errors.js';
export interface LossWeights {
  ssim: number;
  intensity: number;
  gradient: number;
  color: number;
  /**
   * Distillation (`--teacher DIR`): mean squared difference between the fused luminance and a
   * teacher model's fused luminance for the same pair (e.g. tesg-v1's). Absent or 0: off.
   */
  teacher?: number;
}

/** Text-IF's weights (ssim 1 per source, max-intensity 4, texture/gradient 10, colour 12). */
export const DEFAULT_LOSS_WEIGHTS: Readonly<LossWeights> = Object.freeze({ ssim: 1, intensity: 4, gradient: 10, color: 12 });

/**
 * "ssim=1,intensity=4,gradient=10,color=12" (any subset; the rest keep the defaults) as given to
 * `--loss-weights`. UsageError for an unknown name, a missing value or a value that is not a number >= 0.
 */
export function parseLossWeights(s: string | undefined): LossWeights {
  const w: LossWeights = { ...DEFAULT_LOSS_WEIGHTS };
  if (!s) return w;
  for (const part of s.split(',')) {
    const [k, v] = part.split('=');
    if (!(k in w || k === 'teacher') || v === undefined) throw new UsageError(`--loss-weights: expected name=value with names ${[...Object.keys(w), 'teacher'].join(', ')}, got '${part}'`);
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--loss-weights ${k} must be a number >= 0, got '${v}'`);
    w[k as keyof LossWeights] = n;
  }
  return w;
}

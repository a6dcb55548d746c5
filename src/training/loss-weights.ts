/**
 * The loss weights, in a module without tfjs so that commands which only read or plot runs
 * (`tesg plot-log`) need not load it. The losses themselves are in ./losses.ts.
 */
export interface LossWeights {
  ssim: number;
  intensity: number;
  gradient: number;
  color: number;
}

/** Text-IF's weights (ssim 1 per source, max-intensity 4, texture/gradient 10, colour 12). */
export const DEFAULT_LOSS_WEIGHTS: Readonly<LossWeights> = Object.freeze({ ssim: 1, intensity: 4, gradient: 10, color: 12 });

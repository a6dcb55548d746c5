/**
 * Intensity augmentation of training crops: a gamma curve per sample and modality, so a network
 * trained on MSRS also sees the brighter scenes of other datasets.
 *
 * Why: MSRS infrared is dark (mean grey about 20/255 on the test pairs), RoadScene's is bright (about
 * 140/255) and LLVIP's in between (40-85). A network that never saw bright IR extrapolates there:
 * tesg-v2's fused RoadScene images are 8-16 grey levels brighter than max(IR, VI), with more pixels
 * clipped at white (docs/model.md). A gamma x^g with g < 1 brightens and keeps 0 and 1 fixed and the
 * order of grey levels, so edges stay where they were. The losses are computed against the augmented
 * sources, so the paper's objectives (SSIM, max-intensity, max-gradient, colour) are unchanged.
 */
import { UsageError } from '../errors.js';
import type { Rng } from './rng.js';

/** Gamma ranges [min, max] (each > 0) for IR and VI; a sample's gamma is log-uniform in its range. */
export interface GammaAugment {
  ir: [number, number];
  vi: [number, number];
}

/**
 * "ir=0.25:1,vi=0.5:1" (as `--augment-gamma`; one bound "ir=0.5" means 0.5:1; a modality left out
 * keeps gamma 1). UsageError for an unknown name or a bound that is not a number > 0, or min > max.
 */
export function parseGammaAugment(s: string): GammaAugment {
  const out: GammaAugment = { ir: [1, 1], vi: [1, 1] };
  for (const part of s.split(',')) {
    const [k, v] = part.split('=');
    if ((k !== 'ir' && k !== 'vi') || v === undefined) throw new UsageError(`--augment-gamma: expected ir=MIN:MAX,vi=MIN:MAX (e.g. ir=0.25:1,vi=0.5:1), got '${part}'`);
    const [lo, hi = '1'] = v.split(':');
    const range: [number, number] = [Number(lo), Number(hi)];
    if (!range.every((x) => Number.isFinite(x) && x > 0) || range[0] > range[1]) {
      throw new UsageError(`--augment-gamma ${k}: expected MIN:MAX with 0 < MIN <= MAX, got '${v}'`);
    }
    out[k] = range;
  }
  return out;
}

/** "ir 0.25-1, vi 0.5-1" for logs. */
export function describeGammaAugment(a: GammaAugment): string {
  return `gamma ir ${a.ir[0]}-${a.ir[1]}, vi ${a.vi[0]}-${a.vi[1]}`;
}

/** A gamma log-uniform in [lo, hi], one RNG draw. */
export function drawGamma(rng: Rng, [lo, hi]: [number, number]): number {
  return Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)));
}

/** The 256-entry table byte -> (byte / 255)^gamma, values in 0..1. */
export function gammaTable(gamma: number): Float32Array {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = Math.pow(v / 255, gamma);
  return t;
}

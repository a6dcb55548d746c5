import { UsageError } from '../errors.js';
import type { ModelConfig } from './config.js';

/**
 * norm_eps 1e-2, attn_eps 0.1: an all-zero feature map's gradient is scaled by at most 10 (LayerNorm)
 * and 3.2 (q/k L2 normalisation) instead of 316 and 1e4. First-step gradient norm, libtorch, batch 8,
 * 96x96 synthetic crops, random init (docs/model.md, "Epsilons"): u2-a black 1.42, black VI
 * only 2.07, normal 2.03 (v1's eps: 7.0e6, 4.3e7, 2.54). attn_eps sits inside a sum over the
 * pixels: 0.1 is ~1% of a median q/k column's sum x^2 on a 96x96 crop (10-16), so training crops
 * and large images are normalised alike.
 */
export const WELL_CONDITIONED_EPS: Readonly<Pick<ModelConfig, 'norm_eps' | 'attn_eps'>> = Object.freeze({ norm_eps: 1e-2, attn_eps: 0.1 });

/**
 * Named points of the model config space (docs/model.md, "U-shaped config space"): `v1` is the
 * shipped full-resolution network (DEFAULT_MODEL_CONFIG); the `u2-*` are Restormer-style U-shapes
 * (full, 1/2 and 1/4 resolution) for the tesg-v2 candidate trainings, each about 4x below v1's
 * 39.9 GFLOPs per 640x480 (CountOps). Every preset keeps the paper's four transformer blocks per
 * encoder and in the decoder, distributed over the levels. A preset is a partial config: keys it
 * leaves out take their defaults (text encoder, ablation switches, ...).
 *
 * The u2 presets take well-conditioned epsilons (WELL_CONDITIONED_EPS; docs/model.md, "Epsilons"):
 * with v1's, an all-black crop made a first-step gradient norm ~1e6-1e8 times a normal crop's.
 */
export const MODEL_PRESETS: Readonly<Record<string, Readonly<Partial<ModelConfig>>>> = Object.freeze({
  /** tesg-v1: dim 16 everywhere, full resolution, MGCA-TDAF at full resolution. */
  v1: {},
  /**
   * The plain U: full resolution only for the 3x3 embedding (16 channels) and its 1x1 skip fusion;
   * one block per encoder at 1/2 (16 channels), three at 1/4 (32), MGCA-TDAF at 1/4; decoder mirrors.
   */
  'u2-a': {
    dim: 16, heads: 2, level_dims: [16, 32], level_heads: [2, 4],
    enc_level_blocks: [0, 1, 3], dec_level_blocks: [0, 1, 3], fusion_level: -1, skip_fusion: 'conv',
    ...WELL_CONDITIONED_EPS,
  },
  /**
   * Detail at full resolution: a narrow (8-channel) full-resolution decoder block, and the skips
   * fused by eq. 8-10's gates (a per-pixel choice between VI and IR at full and 1/2 resolution).
   */
  'u2-b': {
    dim: 8, heads: 1, level_dims: [16, 32], level_heads: [2, 4],
    enc_level_blocks: [0, 1, 3], dec_level_blocks: [1, 1, 2], fusion_level: -1, skip_fusion: 'gated',
    ...WELL_CONDITIONED_EPS,
  },
  /** MGCA-TDAF at 1/2 resolution (a finer mask M; 1/4 is fused by a 1x1 skip); two blocks per level. */
  'u2-c': {
    dim: 8, heads: 1, level_dims: [16, 32], level_heads: [2, 4],
    enc_level_blocks: [0, 2, 2], dec_level_blocks: [0, 2, 2], fusion_level: 1, skip_fusion: 'conv',
    ...WELL_CONDITIONED_EPS,
  },
  /**
   * tesg-v2, chosen by the equal-budget runs of docs/model.md: u2-c with the output added to
   * max(IR, Y_VI) (base_fusion 'max'), which reached tesg-v1's scores in 600 steps.
   */
  v2: {
    dim: 8, heads: 1, level_dims: [16, 32], level_heads: [2, 4],
    enc_level_blocks: [0, 2, 2], dec_level_blocks: [0, 2, 2], fusion_level: 1, skip_fusion: 'conv',
    base_fusion: 'max',
    ...WELL_CONDITIONED_EPS,
  },
});

/** The preset called `name` (a copy), or a UsageError listing the known names. */
export function modelPreset(name: string): Partial<ModelConfig> {
  const p = MODEL_PRESETS[name];
  if (!p) throw new UsageError(`unknown model preset '${name}'; known: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  return JSON.parse(JSON.stringify(p)) as Partial<ModelConfig>;
}

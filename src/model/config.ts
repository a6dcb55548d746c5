import { UsageError } from '../errors.js';
import { L2_NORM_EPS, LAYER_NORM_EPS } from './ops.js';
import { LEXICON_DIM, LEXICON_ID, LEXICON_TOKENS } from '../semantics/lexicon-encoder.js';

/**
 * The network's options. Keys are exactly the keys of an options file and of the `config` stored
 * with the weights (Restormer style), so a checkpoint fully describes the graph it belongs to.
 * Why each default: docs/model.md.
 */
export interface ModelConfig {
  /** Feature channels at full resolution (level 0); with no inner levels, of every block. */
  dim: number;
  /** Attention heads at level 0 (MDTA, MGCA and TIVR there); must divide dim. */
  heads: number;
  /** GDFN hidden width = round(dim * ffn_expansion_factor). */
  ffn_expansion_factor: number;
  /** Transformer blocks in each encoder (IR, VI), in total over the levels. */
  enc_blocks: number;
  /** Transformer blocks in the decoder, in total over the levels. */
  dec_blocks: number;
  /**
   * The U-shape (Restormer): channels of the inner levels at 1/2, 1/4, ... resolution; [] = one
   * full-resolution level (tesg-v1). Levels = 1 + length; sizeMultiple = 2^length.
   */
  level_dims: number[];
  /** Attention heads of each inner level (same length as level_dims; each divides its width). */
  level_heads: number[];
  /** Blocks of each encoder per level, full resolution first; sums to enc_blocks ([] = all at level 0). */
  enc_level_blocks: number[];
  /** Blocks of the decoder per level, full resolution first; sums to dec_blocks ([] = all at level 0). */
  dec_level_blocks: number[];
  /** Level where MGCA and TDAF run (M max-pooled to it); -1 = the deepest. */
  fusion_level: number;
  /** Fusion of F_v^l and F_i^l at the other levels (skips): 1x1 conv of their concatenation, or eq. 8-10's gates. */
  skip_fusion: 'conv' | 'gated';
  /**
   * The output's base (Restormer's global residual, for fusion): 'none' = sigmoid(decoder) as
   * tesg-v1; 'max' = max(IR, Y_VI) + decoder: the network learns the correction to the element-wise
   * maximum that the intensity loss targets (texture, contrast, the gradient loss's max of
   * gradients) instead of the whole image. Output 'y' only.
   */
  base_fusion: 'none' | 'max';
  /** Bias in the 1x1/3x3 convolutions of the blocks (Restormer: false). */
  bias: boolean;
  /** Restormer's two LayerNorm kinds. */
  layer_norm: 'with_bias' | 'bias_free';
  /**
   * Epsilon of every LayerNorm (per-pixel and F_t's): x / sqrt(var + norm_eps), > 0. 1e-5 (PyTorch's,
   * tesg-v1). At zero variance (an all-black crop gives all-zero features) LayerNorm scales the
   * gradient by 1/sqrt(norm_eps), so the U presets take 1e-2 (docs/model.md, "Epsilons").
   */
  norm_eps: number;
  /** What the VI encoder sees: the RGB image (3 channels) or its BT.601 luminance (1 channel). */
  vi_input: 'rgb' | 'y';
  /** What the network predicts: fused Y (colour = VI's CbCr) or RGB (colour learned, colour loss). */
  output: 'y' | 'rgb';
  /** Where M and 1-M apply: the input images (paper's wording) or the encoded features. */
  mask_on: 'feature' | 'image';
  /** Ablations of Table 4: false = (a) plain cross-attention on whole images, (b) no text, (c) no gates. */
  use_mgca: boolean;
  use_tivr: boolean;
  use_gaf: boolean;
  /**
   * Epsilon inside the square root of the q/k L2 normalisation over the pixels in channel attention
   * (MDTA, MGCA): x / sqrt(sum x^2 + attn_eps), > 0. 1e-8 in tesg-v1; an all-zero column's gradient is
   * scaled by 1/sqrt(attn_eps). A sum over the pixels, so its weight falls with the crop size.
   */
  attn_eps: number;
  /** Id of the text encoder whose F_t this model was trained on; other encoders are refused. */
  text_encoder: string;
  /** F_t shape: tokens x text_dim. */
  text_tokens: number;
  text_dim: number;
}

/** The built-in lexicon text encoder of the SIG default (src/semantics). */
export const DEFAULT_TEXT_ENCODER = LEXICON_ID;

export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  dim: 16,
  heads: 2,
  ffn_expansion_factor: 2,
  enc_blocks: 4,
  dec_blocks: 4,
  level_dims: [],
  level_heads: [],
  enc_level_blocks: [],
  dec_level_blocks: [],
  fusion_level: -1,
  skip_fusion: 'conv',
  base_fusion: 'none',
  bias: false,
  layer_norm: 'with_bias',
  norm_eps: LAYER_NORM_EPS,
  attn_eps: L2_NORM_EPS,
  vi_input: 'rgb',
  output: 'y',
  mask_on: 'feature',
  use_mgca: true,
  use_tivr: true,
  use_gaf: true,
  text_encoder: DEFAULT_TEXT_ENCODER,
  text_tokens: LEXICON_TOKENS,
  text_dim: LEXICON_DIM,
});

const CHOICES: Partial<Record<keyof ModelConfig, readonly string[]>> = {
  layer_norm: ['with_bias', 'bias_free'],
  vi_input: ['rgb', 'y'],
  output: ['y', 'rgb'],
  mask_on: ['feature', 'image'],
  skip_fusion: ['conv', 'gated'],
  base_fusion: ['none', 'max'],
};

const ARRAY_KEYS = new Set(['level_dims', 'level_heads', 'enc_level_blocks', 'dec_level_blocks']);

/**
 * Fill defaults and reject unknown keys, wrong types and inconsistent values, naming the key.
 * `where` names the source (a file, "--dim") for the error message.
 */
export function validateModelConfig(partial: Record<string, unknown>, where = 'model config'): ModelConfig {
  const out: Record<string, unknown> = { ...DEFAULT_MODEL_CONFIG };
  for (const k of ARRAY_KEYS) out[k] = [...(out[k] as number[])];
  for (const [key, value] of Object.entries(partial)) {
    if (!(key in DEFAULT_MODEL_CONFIG)) {
      throw new UsageError(`${where}: unknown key '${key}'; known: ${Object.keys(DEFAULT_MODEL_CONFIG).join(', ')}`);
    }
    if (value === undefined) continue;
    const def = (DEFAULT_MODEL_CONFIG as Record<string, unknown>)[key];
    if (ARRAY_KEYS.has(key)) {
      if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0)) {
        throw new UsageError(`${where}: '${key}' must be an array of integers >= 0, got ${JSON.stringify(value)}`);
      }
      out[key] = [...(value as number[])];
      continue;
    }
    if (typeof value !== typeof def) {
      throw new UsageError(`${where}: '${key}' must be a ${typeof def}, got ${JSON.stringify(value)}`);
    }
    const choices = CHOICES[key as keyof ModelConfig];
    if (choices && !choices.includes(value as string)) {
      throw new UsageError(`${where}: '${key}' must be one of ${choices.join(', ')}, got '${String(value)}'`);
    }
    out[key] = value;
  }
  const c = out as unknown as ModelConfig;
  for (const k of ['dim', 'heads', 'enc_blocks', 'dec_blocks', 'text_tokens', 'text_dim'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < (k.endsWith('blocks') ? 0 : 1)) {
      throw new UsageError(`${where}: '${k}' must be a positive integer, got ${c[k]}`);
    }
  }
  if (c.dim % c.heads !== 0) throw new UsageError(`${where}: heads (${c.heads}) must divide dim (${c.dim})`);
  if (!(c.ffn_expansion_factor > 0)) throw new UsageError(`${where}: ffn_expansion_factor must be > 0`);
  for (const k of ['norm_eps', 'attn_eps'] as const) {
    if (!Number.isFinite(c[k]) || c[k] <= 0) throw new UsageError(`${where}: '${k}' must be a finite number > 0, got ${c[k]}`);
  }
  if (c.base_fusion !== 'none' && c.output !== 'y') throw new UsageError(`${where}: base_fusion '${c.base_fusion}' needs output 'y'`);
  validateLevels(c, where);
  return c;
}

/** The U-shape keys: one entry per level, block totals preserved, heads dividing widths. */
function validateLevels(c: ModelConfig, where: string): void {
  const levels = 1 + c.level_dims.length;
  c.level_dims.forEach((d, i) => {
    if (d < 1) throw new UsageError(`${where}: level_dims[${i}] must be >= 1, got ${d}`);
  });
  if (c.level_heads.length !== c.level_dims.length) {
    throw new UsageError(`${where}: level_heads needs one entry per inner level (${c.level_dims.length}, as level_dims), got ${c.level_heads.length}`);
  }
  c.level_heads.forEach((h, i) => {
    if (h < 1 || c.level_dims[i] % h !== 0) throw new UsageError(`${where}: level_heads[${i}] (${h}) must be >= 1 and divide level_dims[${i}] (${c.level_dims[i]})`);
  });
  for (const [key, total] of [['enc_level_blocks', 'enc_blocks'], ['dec_level_blocks', 'dec_blocks']] as const) {
    const per = c[key];
    if (per.length === 0 && levels === 1) continue;
    if (per.length !== levels) {
      throw new UsageError(`${where}: '${key}' needs one block count per level (${levels}: full resolution first), got ${JSON.stringify(per)}`);
    }
    const sum = per.reduce((a, b) => a + b, 0);
    if (sum !== c[total]) {
      throw new UsageError(`${where}: '${key}' ${JSON.stringify(per)} sums to ${sum} but '${total}' is ${c[total]}: the blocks are distributed over the levels, make them agree`);
    }
  }
  if (!Number.isInteger(c.fusion_level) || c.fusion_level < -1 || c.fusion_level >= levels) {
    throw new UsageError(`${where}: 'fusion_level' must be -1 (deepest) or a level 0..${levels - 1}, got ${c.fusion_level}`);
  }
}

/** Resolution levels of the U-shape (1 = full resolution only). */
export function numLevels(c: ModelConfig): number {
  return 1 + c.level_dims.length;
}

/** Channels and heads of level l (0 = full resolution). */
export function levelWidth(c: ModelConfig, l: number): { dim: number; heads: number } {
  return l === 0 ? { dim: c.dim, heads: c.heads } : { dim: c.level_dims[l - 1], heads: c.level_heads[l - 1] };
}

/** Transformer blocks of each encoder (or of the decoder) at level l. */
export function levelBlocks(c: ModelConfig, part: 'enc' | 'dec', l: number): number {
  const per = part === 'enc' ? c.enc_level_blocks : c.dec_level_blocks;
  if (per.length === 0) return l === 0 ? (part === 'enc' ? c.enc_blocks : c.dec_blocks) : 0;
  return per[l];
}

/** The level where MGCA and TDAF run. */
export function fusionLevel(c: ModelConfig): number {
  return c.fusion_level === -1 ? numLevels(c) - 1 : c.fusion_level;
}

/** GDFN hidden width, as Restormer: int(dim * factor). */
export function ffnHidden(c: ModelConfig): number {
  return Math.max(1, Math.floor(c.dim * c.ffn_expansion_factor));
}

/** Channels of the VI input for this config. */
export function viChannels(c: ModelConfig): 1 | 3 {
  return c.vi_input === 'rgb' ? 3 : 1;
}

/**
 * Height and width must be multiples of this: 2^(levels - 1), one factor 2 per stride-2
 * down-sampling (1 for tesg-v1). `predict` and the ONNX fuse path pad to it and crop back.
 */
export function sizeMultiple(c: ModelConfig): number {
  return 2 ** c.level_dims.length;
}

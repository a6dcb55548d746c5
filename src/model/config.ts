import { UsageError } from '../errors.js';
import { LEXICON_DIM, LEXICON_ID, LEXICON_TOKENS } from '../semantics/lexicon-encoder.js';

/**
 * The network's options. Keys are exactly the keys of an options file and of the `config` stored
 * with the weights (Restormer style), so a checkpoint fully describes the graph it belongs to.
 * Why each default: docs/model.md.
 */
export interface ModelConfig {
  /** Feature channels of every transformer block. */
  dim: number;
  /** Attention heads (MDTA, MGCA and TIVR); must divide dim. */
  heads: number;
  /** GDFN hidden width = round(dim * ffn_expansion_factor). */
  ffn_expansion_factor: number;
  /** Transformer blocks in each encoder (IR, VI). */
  enc_blocks: number;
  /** Transformer blocks in the decoder. */
  dec_blocks: number;
  /** Bias in the 1x1/3x3 convolutions of the blocks (Restormer: false). */
  bias: boolean;
  /** Restormer's two LayerNorm kinds. */
  layer_norm: 'with_bias' | 'bias_free';
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
  bias: false,
  layer_norm: 'with_bias',
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
};

/**
 * Fill defaults and reject unknown keys, wrong types and inconsistent values, naming the key.
 * `where` names the source (a file, "--dim") for the error message.
 */
export function validateModelConfig(partial: Record<string, unknown>, where = 'model config'): ModelConfig {
  const out: Record<string, unknown> = { ...DEFAULT_MODEL_CONFIG };
  for (const [key, value] of Object.entries(partial)) {
    if (!(key in DEFAULT_MODEL_CONFIG)) {
      throw new UsageError(`${where}: unknown key '${key}'; known: ${Object.keys(DEFAULT_MODEL_CONFIG).join(', ')}`);
    }
    if (value === undefined) continue;
    const def = (DEFAULT_MODEL_CONFIG as Record<string, unknown>)[key];
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
  return c;
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
 * The model works at full resolution (no down-sampling), so any size runs as is; predict still pads
 * to this multiple so a config with down-sampling (or a tiler) only changes this number.
 */
export function sizeMultiple(_c: ModelConfig): number {
  return 1;
}

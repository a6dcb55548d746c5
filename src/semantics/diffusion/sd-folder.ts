/**
 * The Stable Diffusion ONNX export folder layout, as written by
 * `optimum-cli export onnx --model runwayml/stable-diffusion-v1-5 OUT/` or diffusers'
 * convert_stable_diffusion_checkpoint_to_onnx.py. Only the parts eq. 2 and F_t need are read;
 * vae_decoder/, safety_checker/ and model_index.json may be there or not.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { readOptionalJson } from '../tokenizers/special-tokens.js';

export interface SdFolder {
  dir: string;
  textEncoder: string;
  unet: string;
  vaeEncoder: string;
  /** Folder with vocab.json + merges.txt. */
  tokenizer: string;
  schedulerConfig: string;
  /** Latents are multiplied by this after encoding (SD 1.x/2.x: 0.18215). */
  vaeScalingFactor: number;
}

export const SD_REQUIRED_FILES = [
  'text_encoder/model.onnx',
  'unet/model.onnx',
  'vae_encoder/model.onnx',
  'tokenizer/vocab.json',
  'tokenizer/merges.txt',
  'scheduler/scheduler_config.json',
] as const;

const DEFAULT_VAE_SCALING = 0.18215;

export function resolveSdFolder(dirArg: string): SdFolder {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new InputError(dir, 'Stable Diffusion export folder not found');
  const missing = SD_REQUIRED_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    const others = missing.length > 1 ? ` (also missing: ${missing.slice(1).join(', ')})` : '';
    throw new InputError(
      join(dir, missing[0]),
      `missing${others}: a Stable Diffusion ONNX export folder needs ${SD_REQUIRED_FILES.join(', ')}; make one with optimum-cli (see docs/onnx-sig.md)`,
    );
  }
  if (existsSync(join(dir, 'text_encoder_2'))) {
    throw new InputError(join(dir, 'text_encoder_2'), 'SDXL exports (two text encoders) are not supported; use an SD 1.x or 2.x export');
  }
  return {
    dir,
    textEncoder: join(dir, 'text_encoder/model.onnx'),
    unet: join(dir, 'unet/model.onnx'),
    vaeEncoder: join(dir, 'vae_encoder/model.onnx'),
    tokenizer: join(dir, 'tokenizer'),
    schedulerConfig: join(dir, 'scheduler/scheduler_config.json'),
    vaeScalingFactor: vaeScaling(dir),
  };
}

/** scaling_factor from vae_encoder/config.json (optimum), vae_decoder/ or vae/ (diffusers), else SD's 0.18215. */
function vaeScaling(dir: string): number {
  for (const sub of ['vae_encoder', 'vae_decoder', 'vae']) {
    const cfg = readOptionalJson(join(dir, sub), 'config.json');
    const v = cfg?.scaling_factor;
    if (typeof v === 'number' && v > 0) return v;
  }
  return DEFAULT_VAE_SCALING;
}

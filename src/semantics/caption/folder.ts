/**
 * Image-captioning ONNX export folders: a vision encoder, a text decoder, the configs and a
 * tokenizer. Accepted file names, looked up in the folder and in its onnx/ subfolder
 * (transformers.js puts models there, optimum at the top):
 *   encoder: vision_encoder_model.onnx | encoder_model.onnx | vision_model.onnx
 *   decoder: decoder_model.onnx | text_decoder_model.onnx, else the merged
 *            decoder_model_merged.onnx | text_decoder_model_merged.onnx (run without its cache)
 *   config.json, preprocessor_config.json, optional generation_config.json,
 *   tokenizer.json | vocab.txt | vocab.json (see tokenizers/load-detokenizer.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../errors.js';

export interface CaptionFolder {
  dir: string;
  encoder: string;
  decoder: string;
  /** True when only a merged decoder (with past_key_values / use_cache_branch inputs) was found. */
  mergedDecoder: boolean;
  config: string;
  preprocessorConfig: string;
  generationConfig: string | undefined;
}

export const ENCODER_NAMES = ['vision_encoder_model.onnx', 'encoder_model.onnx', 'vision_model.onnx'];
export const DECODER_NAMES = ['decoder_model.onnx', 'text_decoder_model.onnx'];
export const MERGED_DECODER_NAMES = ['decoder_model_merged.onnx', 'text_decoder_model_merged.onnx'];

export function resolveCaptionFolder(dirArg: string): CaptionFolder {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new InputError(dir, 'captioning export folder not found');
  const find = (names: string[]) => {
    for (const sub of ['', 'onnx']) for (const n of names) if (existsSync(join(dir, sub, n))) return join(dir, sub, n);
    return undefined;
  };
  const encoder = find(ENCODER_NAMES);
  if (!encoder) throw new InputError(join(dir, 'onnx', ENCODER_NAMES[0]), `missing: no vision encoder (${ENCODER_NAMES.join(' | ')}, in the folder or onnx/); see docs/onnx-sig.md`);
  const plain = find(DECODER_NAMES);
  const merged = find(MERGED_DECODER_NAMES);
  const decoder = plain ?? merged;
  if (!decoder) throw new InputError(join(dir, 'onnx', DECODER_NAMES[0]), `missing: no text decoder (${[...DECODER_NAMES, ...MERGED_DECODER_NAMES].join(' | ')}); see docs/onnx-sig.md`);
  for (const f of ['config.json', 'preprocessor_config.json']) {
    if (!existsSync(join(dir, f))) throw new InputError(join(dir, f), 'missing: a captioning export folder needs config.json and preprocessor_config.json (see docs/onnx-sig.md)');
  }
  const gen = join(dir, 'generation_config.json');
  return {
    dir,
    encoder,
    decoder,
    mergedDecoder: !plain,
    config: join(dir, 'config.json'),
    preprocessorConfig: join(dir, 'preprocessor_config.json'),
    generationConfig: existsSync(gen) ? gen : undefined,
  };
}

/**
 * The paper-faithful SIG providers from ONNX export folders (docs/onnx-sig.md):
 *  - `diffusion`: a Stable Diffusion 1.x/2.x export -> the noise-difference mask provider (eq. 2)
 *    and the text encoder F_t (its CLIP text encoder, last hidden state), sharing one session;
 *  - `captioner`: a BLIP / ViT-GPT2 captioning export -> the caption provider (eq. 1).
 * Either folder may be given alone; the pipeline falls back to its built-in default for the rest.
 */
import type { OnnxModelOptions } from '../runtime/onnx.js';
import { OnnxCaptioner, type CaptionOptions } from './caption/captioner.js';
import { NoiseDifferenceMasks, type NoiseMaskOptions } from './diffusion/noise-mask.js';
import { resolveSdFolder } from './diffusion/sd-folder.js';
import { SdTextEncoder } from './diffusion/text-encoder.js';
import type { CaptionProvider, MaskProvider, TextEncoder } from './types.js';

export interface OnnxProviderOptions {
  /** Stable Diffusion ONNX export folder (text_encoder/, unet/, vae_encoder/, tokenizer/, scheduler/). */
  diffusion?: string;
  /** Image-captioning ONNX export folder (encoder + decoder + configs + tokenizer). */
  captioner?: string;
  mask?: Partial<NoiseMaskOptions>;
  caption?: CaptionOptions;
  /** onnxruntime intra-op threads; default all cores. */
  threads?: number;
}

export interface OnnxProviders {
  caption?: CaptionProvider;
  mask?: MaskProvider;
  textEncoder?: TextEncoder;
  /** Frees every onnxruntime session. */
  release(): Promise<void>;
}

export async function loadOnnxProviders(o: OnnxProviderOptions): Promise<OnnxProviders> {
  const runtime: OnnxModelOptions = o.threads === undefined ? {} : { threads: o.threads };
  let textEncoder: SdTextEncoder | undefined;
  let mask: NoiseDifferenceMasks | undefined;
  let caption: OnnxCaptioner | undefined;
  if (o.diffusion) {
    const folder = resolveSdFolder(o.diffusion);
    textEncoder = await SdTextEncoder.load(folder, runtime);
    mask = await NoiseDifferenceMasks.load(folder, o.mask, runtime, textEncoder);
  }
  if (o.captioner) caption = await OnnxCaptioner.load(o.captioner, o.caption, runtime);
  return {
    caption,
    mask,
    textEncoder,
    async release() {
      await Promise.all([textEncoder?.release(), mask?.release(), caption?.release()]);
    },
  };
}

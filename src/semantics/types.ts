import type { Image8 } from '../image/types.js';

/**
 * The contracts of the Semantic Information Generator (paper sec. 3.2, Fig. 3).
 * Providers are pluggable: the built-in default (a COCO detector shipped in an npm package)
 * and the paper-faithful ONNX ones (BLIP-style captioner, Stable Diffusion noise difference,
 * CLIP text encoder) implement the same interfaces.
 */

/** A binary mask at image resolution: 1 = key object (foreground), 0 = background. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** T = caption(VI). */
export interface CaptionProvider {
  readonly name: string;
  caption(vi: Image8, ir?: Image8): Promise<string>;
}

/** What a mask provider is given: the images and the two captions of eq. 2. */
export interface MaskRequest {
  vi: Image8;
  ir: Image8;
  /** T */
  caption: string;
  /** T^ = T with the keywords V* removed */
  captionWithout: string;
  /** V* */
  keywords: string[];
}

/** M_vis and M_ir (eq. 2); the union M (eq. 3) is taken by the pipeline. */
export interface MaskProvider {
  readonly name: string;
  masks(req: MaskRequest): Promise<{ vis: BinaryMask; ir: BinaryMask }>;
}

/** F_t = text embedding of T: `tokens` x `dim` floats, row-major. */
export interface TextEncoder {
  /** Recorded in every model checkpoint; a model refuses an encoder with another id. */
  readonly id: string;
  readonly tokens: number;
  readonly dim: number;
  encode(text: string): Promise<Float32Array>;
}

/** Everything the SIG produces for one (IR, VI) pair. */
export interface SigResult {
  caption: string;
  captionWithout: string;
  keywords: string[];
  maskVis: BinaryMask;
  maskIr: BinaryMask;
  /** M = M_vis U M_ir */
  mask: BinaryMask;
  /** F_t, tokens x dim */
  embedding: Float32Array;
  textEncoderId: string;
}

/**
 * M_vis / M_ir of eq. 2 with a Stable Diffusion ONNX export: the DiffEdit mask.
 * For each image: VAE-encode to z0; for n seeded noise draws eps, noise to
 * x_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps at t = round(s * N); predict the noise under T and
 * under T^ (= T without the keywords); average |eps_T - eps_T^| over latent channels and draws;
 * normalise, upsample to the image size (bilinear), binarise (Delta, see delta.ts).
 *
 * Defaults are DiffEdit's (Couairon et al., "DiffEdit", 2022, and diffusers' generate_mask):
 * strength 0.5 (enough noise that the text steers the estimate, not so much that the image is
 * gone), 10 draws (the difference of two noisy estimates is itself noisy; 10 averages it down),
 * threshold 0.5 after clamping at 3x the mean. Classifier-free guidance is left out: with
 * guidance g both estimates are u + g(c - u), so their difference is g(eps_T - eps_T^), a scale
 * the normalisation removes. Likewise for v-prediction models (SD 2.x 768-v) the eps difference
 * is sqrt(abar_t) times the v difference: the same mask.
 */
import type { Image8 } from '../../image/types.js';
import type { OnnxModelOptions } from '../../runtime/onnx.js';
import type { BinaryMask, MaskProvider, MaskRequest } from '../types.js';
import { binarize, DEFAULT_BINARIZE, normalizeDifference, validateBinarize, type Binarize } from './delta.js';
import { imageToVaeSample } from './image.js';
import { resizeBilinear } from './resize.js';
import { SeededNormal } from './rng.js';
import { addNoise, alphasCumprod, readSchedulerConfig, timestepForStrength, type NoiseSchedule } from './schedule.js';
import { resolveSdFolder, type SdFolder } from './sd-folder.js';
import { SdTextEncoder } from './text-encoder.js';
import { SdUnet } from './unet.js';
import { SdVaeEncoder } from './vae.js';

export interface NoiseMaskOptions {
  /** s in [0, 1]: how far into the forward process the latents are noised. Default 0.5. */
  strength: number;
  /** n: noise draws averaged. Default 10. */
  draws: number;
  /** Seed of the noise draws; VI and IR get different streams derived from it. Default 0. */
  seed: number;
  /** Long side the image is resized to before encoding (sides snapped to multiples of 8). Default 512. */
  longSide: number;
  /** Delta. Default DiffEdit's (clamp at 3x mean, threshold 0.5). */
  binarize: Binarize;
  /** UNet samples per call (each draw needs 2: T and T^). Default 2. */
  batch: number;
}

export const DEFAULT_NOISE_MASK_OPTIONS: NoiseMaskOptions = { strength: 0.5, draws: 10, seed: 0, longSide: 512, binarize: DEFAULT_BINARIZE, batch: 2 };

export function validateNoiseMaskOptions(partial: Partial<NoiseMaskOptions> = {}): NoiseMaskOptions {
  const known = new Set(Object.keys(DEFAULT_NOISE_MASK_OPTIONS));
  for (const k of Object.keys(partial)) if (!known.has(k)) throw new RangeError(`unknown noise-mask option "${k}"`);
  const o = { ...DEFAULT_NOISE_MASK_OPTIONS, ...partial };
  if (!(o.strength >= 0 && o.strength <= 1)) throw new RangeError(`strength must be in [0, 1], got ${o.strength}`);
  if (!Number.isInteger(o.draws) || o.draws < 1) throw new RangeError(`draws must be a positive integer, got ${o.draws}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  if (!Number.isInteger(o.longSide) || o.longSide < 8) throw new RangeError(`longSide must be an integer >= 8, got ${o.longSide}`);
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new RangeError(`batch must be a positive integer, got ${o.batch}`);
  validateBinarize(o.binarize);
  return o;
}

/** One image's result: the map normalised to [0, 1] at image size and its binarisation. */
export interface NoiseMask {
  normalized: Float32Array;
  mask: BinaryMask;
}

export class NoiseDifferenceMasks implements MaskProvider {
  readonly name = 'sd-onnx-noise-difference';
  private readonly alphaBar: number;
  readonly timestep: number;

  constructor(
    readonly textEncoder: SdTextEncoder,
    private readonly unet: SdUnet,
    private readonly vae: SdVaeEncoder,
    schedule: NoiseSchedule,
    readonly options: NoiseMaskOptions,
  ) {
    this.timestep = timestepForStrength(options.strength, schedule.numTrainTimesteps);
    this.alphaBar = alphasCumprod(schedule)[this.timestep];
  }

  /** Loads the three models of an export folder. `textEncoder` may be shared with the F_t provider. */
  static async load(
    folder: string | SdFolder,
    options: Partial<NoiseMaskOptions> = {},
    runtime: OnnxModelOptions = {},
    textEncoder?: SdTextEncoder,
  ): Promise<NoiseDifferenceMasks> {
    const opts = validateNoiseMaskOptions(options);
    const f = typeof folder === 'string' ? resolveSdFolder(folder) : folder;
    const schedule = readSchedulerConfig(f.schedulerConfig);
    const enc = textEncoder ?? (await SdTextEncoder.load(f, runtime));
    const unet = await SdUnet.load(f.unet, runtime);
    const vae = await SdVaeEncoder.load(f.vaeEncoder, f.vaeScalingFactor, runtime);
    return new NoiseDifferenceMasks(enc, unet, vae, schedule, opts);
  }

  async masks(req: MaskRequest): Promise<{ vis: BinaryMask; ir: BinaryMask }> {
    const vis = await this.mask(req.vi, req.caption, req.captionWithout, 0);
    const ir = await this.mask(req.ir, req.caption, req.captionWithout, 1);
    return { vis: vis.mask, ir: ir.mask };
  }

  /** The mask of one image; `stream` separates the noise of VI (0) and IR (1) under one seed. */
  async mask(img: Image8, caption: string, captionWithout: string, stream = 0): Promise<NoiseMask> {
    const { map, height, width } = await this.differenceMap(img, caption, captionWithout, stream);
    const norm = normalizeDifference(map, this.options.binarize);
    const normalized = resizeBilinear(norm, 1, height, width, img.height, img.width);
    return { normalized, mask: { width: img.width, height: img.height, data: binarize(normalized, this.options.binarize) } };
  }

  /** mean over channels and draws of |eps(x_t, T) - eps(x_t, T^)|, at latent resolution. */
  async differenceMap(img: Image8, caption: string, captionWithout: string, stream = 0): Promise<{ map: Float32Array; height: number; width: number }> {
    const sample = imageToVaeSample(img, this.options.longSide);
    const z0 = await this.vae.encode(sample.data, sample.height, sample.width, this.unet.latentChannels);
    const { channels: c, height: h, width: w } = z0;
    const map = new Float32Array(h * w);
    // T^ = T (no keyword in the caption): both estimates are the same call, the map is exactly 0.
    if (caption === captionWithout) return { map, height: h, width: w };
    const [embT, embHat] = [await this.textEncoder.encode(caption), await this.textEncoder.encode(captionWithout)];
    const { tokens, dim } = this.textEncoder;
    const rng = new SeededNormal(noiseSeed(this.options.seed, stream));
    const pairsPerCall = Math.max(1, Math.floor((this.unet.fixedBatch ?? this.options.batch) / 2));
    const useSingles = this.unet.fixedBatch === 1;
    for (let done = 0; done < this.options.draws; ) {
      const k = Math.min(pairsPerCall, this.options.draws - done);
      const xs: Float32Array[] = [];
      for (let j = 0; j < k; j++) xs.push(addNoise(z0.data, rng.fill(c * h * w), this.alphaBar));
      const estimates = useSingles
        ? await this.singles(xs, embT, embHat, h, w)
        : await this.unet.predict(
            xs.flatMap((x) => [x, x]),
            xs.flatMap(() => [embT, embHat]),
            this.timestep,
            h,
            w,
            tokens,
            dim,
          );
      for (let j = 0; j < k; j++) accumulate(map, estimates[2 * j], estimates[2 * j + 1], c);
      done += k;
    }
    const scale = 1 / (c * this.options.draws);
    for (let i = 0; i < map.length; i++) map[i] *= scale;
    return { map, height: h, width: w };
  }

  private async singles(xs: Float32Array[], embT: Float32Array, embHat: Float32Array, h: number, w: number): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const { tokens, dim } = this.textEncoder;
    for (const x of xs) {
      out.push(...(await this.unet.predict([x], [embT], this.timestep, h, w, tokens, dim)));
      out.push(...(await this.unet.predict([x], [embHat], this.timestep, h, w, tokens, dim)));
    }
    return out;
  }

  async release(): Promise<void> {
    await Promise.all([this.unet.release(), this.vae.release()]);
  }
}

/** map += sum over channels of |a - b| (planar C x h x w). */
function accumulate(map: Float32Array, a: Float32Array, b: Float32Array, channels: number): void {
  const n = map.length;
  for (let ch = 0; ch < channels; ch++) {
    const o = ch * n;
    for (let i = 0; i < n; i++) map[i] += Math.abs(a[o + i] - b[o + i]);
  }
}

/** The RNG seed of one image's draws: the user's seed mixed with the stream (VI 0, IR 1). */
export function noiseSeed(seed: number, stream: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
}

/**
 * The export's VAE encoder: image in [-1, 1] -> scaled latents z0 = scaling_factor * E(x).
 * optimum exports output `latent_parameters` (mean and log-variance, 2C channels); diffusers'
 * script exports `latent_sample` (a sample, C channels). From parameters the mean is taken
 * (the deterministic choice; DiffEdit samples, which only adds noise the draws average anyway).
 */
import { InputError } from '../../errors.js';
import { OnnxModel, type OnnxModelOptions } from '../../runtime/onnx.js';

export interface Latents {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

export class SdVaeEncoder {
  private constructor(
    private readonly model: OnnxModel,
    private readonly scalingFactor: number,
  ) {}

  static async load(file: string, scalingFactor: number, options: OnnxModelOptions = {}): Promise<SdVaeEncoder> {
    const model = await OnnxModel.load(file, options);
    model.requireInputs('sample');
    return new SdVaeEncoder(model, scalingFactor);
  }

  /** `sample`: planar RGB [3, height, width] in [-1, 1]; `latentChannels`: what the UNet takes. */
  async encode(sample: Float32Array, height: number, width: number, latentChannels: number): Promise<Latents> {
    const out = await this.model.run({ sample: { dims: [1, 3, height, width], data: sample } });
    const name = ['latent_sample', 'latent_parameters', 'latent_dist'].find((n) => n in out) ?? Object.keys(out)[0];
    const t = out[name];
    const [b, c, h, w] = t.dims;
    if (t.dims.length !== 4 || b !== 1 || (c !== latentChannels && c !== 2 * latentChannels)) {
      throw new InputError(this.model.file, `expected ${name} of shape [1, ${latentChannels} or ${2 * latentChannels}, h, w], got [${t.dims}]`);
    }
    const data = new Float32Array(latentChannels * h * w);
    const src = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) data[i] = src[i] * this.scalingFactor; // first C channels = mean
    return { data, channels: latentChannels, height: h, width: w };
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}

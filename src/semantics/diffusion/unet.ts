/**
 * The export's UNet as a noise predictor: eps(x_t, t, c) for a batch of latents and text
 * embeddings. Input names are the diffusers/optimum ones (sample, timestep,
 * encoder_hidden_states); element types and a fixed batch size are read from the model.
 */
import { InputError } from '../../errors.js';
import { OnnxModel, type OnnxModelOptions } from '../../runtime/onnx.js';

export class SdUnet {
  private constructor(
    private readonly model: OnnxModel,
    /** Latent channels (4 for SD), from the sample input's declared shape. */
    readonly latentChannels: number,
    /** The batch size the model was exported with, when fixed; undefined = any. */
    readonly fixedBatch: number | undefined,
    private readonly outputName: string,
  ) {}

  static async load(file: string, options: OnnxModelOptions = {}): Promise<SdUnet> {
    const model = await OnnxModel.load(file, options);
    model.requireInputs('sample', 'timestep', 'encoder_hidden_states');
    const shape = model.input('sample')!.shape;
    if (shape.length !== 4) throw new InputError(file, `expected input 'sample' of rank 4 [B, C, h, w], got [${shape}]`);
    const channels = typeof shape[1] === 'number' && shape[1] > 0 ? shape[1] : 4;
    const batch = typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : undefined;
    const outputName = model.outputs.some((o) => o.name === 'out_sample') ? 'out_sample' : model.outputs[0].name;
    return new SdUnet(model, channels, batch, outputName);
  }

  get file(): string {
    return this.model.file;
  }

  /**
   * Noise estimates for each (latent, embedding) pair at timestep t; latents are
   * latentChannels x h x w, embeddings tokens x dim. Returned in the same order.
   */
  async predict(latents: Float32Array[], embeddings: Float32Array[], t: number, h: number, w: number, tokens: number, dim: number): Promise<Float32Array[]> {
    const b = latents.length;
    if (embeddings.length !== b) throw new Error('SdUnet.predict: one embedding per latent');
    if (this.fixedBatch !== undefined && this.fixedBatch !== b) {
      throw new Error(`SdUnet.predict: the model takes batches of ${this.fixedBatch}, got ${b}`);
    }
    const size = this.latentChannels * h * w;
    const sample = new Float32Array(b * size);
    latents.forEach((l, i) => sample.set(l, i * size));
    const ctx = new Float32Array(b * tokens * dim);
    embeddings.forEach((e, i) => ctx.set(e, i * tokens * dim));
    const tShape = this.model.input('timestep')!.shape;
    // Scalar, [1] or [B]: diffusers expands a timestep to the batch either way.
    const tDims = tShape.length === 0 ? [] : [tShape[0] === 1 ? 1 : b];
    const tCount = tDims.length === 0 ? 1 : tDims[0];
    const out = await this.model.run(
      {
        sample: { dims: [b, this.latentChannels, h, w], data: sample },
        timestep: { dims: tDims, data: new Array(tCount).fill(t) },
        encoder_hidden_states: { dims: [b, tokens, dim], data: ctx },
      },
      [this.outputName],
    );
    const eps = out[this.outputName];
    if (eps.data.length !== b * size) throw new InputError(this.model.file, `expected ${this.outputName} of shape [${b}, ${this.latentChannels}, ${h}, ${w}], got [${eps.dims}]`);
    return latents.map((_, i) => Float32Array.from((eps.data as Float32Array).subarray(i * size, (i + 1) * size)));
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}

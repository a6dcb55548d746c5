/**
 * F_t (paper sec. 3.2, "Text Semantics Generation"): the last hidden state of the export's CLIP
 * text encoder for the CLIP-tokenised caption, `tokens` x `dim` (77 x 768 for SD 1.x). The
 * same embeddings condition the UNet in the noise-difference mask.
 */
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { OnnxModel, type OnnxModelOptions, type Tensor } from '../../runtime/onnx.js';
import { ClipTokenizer } from '../tokenizers/clip.js';
import type { TextEncoder } from '../types.js';
import type { SdFolder } from './sd-folder.js';

const CACHE_SIZE = 64;

export class SdTextEncoder implements TextEncoder {
  private readonly cache = new Map<string, Float32Array>();

  private constructor(
    readonly id: string,
    readonly tokens: number,
    readonly dim: number,
    readonly tokenizer: ClipTokenizer,
    private readonly model: OnnxModel,
    private readonly outputName: string,
  ) {}

  /** Loads the model and runs it once on "" to learn (and check) the output shape. */
  static async load(folder: SdFolder, options: OnnxModelOptions = {}): Promise<SdTextEncoder> {
    const model = await OnnxModel.load(folder.textEncoder, options);
    model.requireInputs('input_ids');
    const fixedLength = model.input('input_ids')!.shape[1];
    const tokenizer = ClipTokenizer.fromFolder(folder.tokenizer, typeof fixedLength === 'number' ? { length: fixedLength } : {});
    const outputName = model.outputs.some((o) => o.name === 'last_hidden_state') ? 'last_hidden_state' : model.outputs[0].name;
    const probe = await runEncoder(model, tokenizer, outputName, '');
    if (probe.dims.length !== 3 || probe.dims[0] !== 1 || probe.dims[1] !== tokenizer.length) {
      throw new InputError(folder.textEncoder, `expected ${outputName} of shape [1, ${tokenizer.length}, dim], got [${probe.dims}]`);
    }
    const [, tokens, dim] = probe.dims;
    return new SdTextEncoder(`sd-onnx:${basename(folder.dir)}:${tokens}x${dim}`, tokens, dim, tokenizer, model, outputName);
  }

  async encode(text: string): Promise<Float32Array> {
    const hit = this.cache.get(text);
    if (hit) return hit;
    const out = await runEncoder(this.model, this.tokenizer, this.outputName, text);
    const emb = Float32Array.from(out.data as ArrayLike<number>);
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(text, emb);
    return emb;
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}

async function runEncoder(model: OnnxModel, tokenizer: ClipTokenizer, outputName: string, text: string): Promise<Tensor> {
  const ids = tokenizer.encode(text);
  const dims = [1, ids.length];
  const feeds: Parameters<OnnxModel['run']>[0] = { input_ids: { dims, data: ids } };
  // SD 1.x ignores padding in the encoder (no mask); an export that declares one gets all ones,
  // which is what the PyTorch model does when given none.
  if (model.hasInput('attention_mask')) feeds.attention_mask = { dims, data: new Array(ids.length).fill(1) };
  const out = await model.run(feeds, [outputName]);
  return out[outputName];
}

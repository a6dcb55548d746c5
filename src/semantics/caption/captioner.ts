/**
 * T = caption(VI) (eq. 1) with an image-captioning ONNX export (BLIP or ViT-GPT2 layout, see
 * folder.ts): encode the image once, then decode greedily or by beam search, re-running the
 * decoder on the whole prefix each step. Decoder inputs are fed by the names the model declares:
 * input_ids (or decoder_input_ids), attention_mask, encoder_hidden_states,
 * encoder_attention_mask; a merged decoder also gets use_cache_branch = false and empty
 * past_key_values.* (sequence length 0), which makes it behave as the plain decoder.
 */
import { InputError } from '../../errors.js';
import type { Image8 } from '../../image/types.js';
import { OnnxModel, type Feed, type OnnxModelOptions, type ValueInfo } from '../../runtime/onnx.js';
import type { Detokenizer } from '../tokenizers/detokenize.js';
import { loadDetokenizer } from '../tokenizers/load-detokenizer.js';
import { readJsonFile } from '../tokenizers/special-tokens.js';
import type { CaptionProvider } from '../types.js';
import { resolveCaptionFolder, type CaptionFolder } from './folder.js';
import { readPreprocess, toPixelValues, type ImagePreprocess } from './preprocess.js';
import { beamSearch, greedySearch, type SearchOptions, type StepFn } from './search.js';

export interface CaptionOptions {
  /** 'greedy' or 'beam' (numBeams beams). Default: beam when generation_config's num_beams > 1, else greedy. */
  search?: 'greedy' | 'beam';
  numBeams?: number;
  /** Total length incl. the start token; default generation_config / config max_length, else 20. */
  maxLength?: number;
}

type Json = Record<string, unknown>;

export class OnnxCaptioner implements CaptionProvider {
  readonly name: string;

  private constructor(
    readonly folder: CaptionFolder,
    private readonly encoder: OnnxModel,
    private readonly decoder: OnnxModel,
    private readonly pre: ImagePreprocess,
    readonly tokenizer: Detokenizer,
    readonly search: SearchOptions,
    private readonly pastDims: Map<string, Array<number | 'batch'>>,
  ) {
    this.name = `onnx-caption:${search.numBeams > 1 ? `beam${search.numBeams}` : 'greedy'}`;
  }

  static async load(dir: string, options: CaptionOptions = {}, runtime: OnnxModelOptions = {}): Promise<OnnxCaptioner> {
    const folder = resolveCaptionFolder(dir);
    const config = readJsonFile(folder.config) as Json;
    const gen = (folder.generationConfig ? readJsonFile(folder.generationConfig) : {}) as Json;
    const pre = readPreprocess(readJsonFile(folder.preprocessorConfig) as Json, folder.preprocessorConfig);
    const tokenizer = loadDetokenizer(folder.dir);
    const search = searchOptions(config, gen, options, folder.config, tokenizer);
    const encoder = await OnnxModel.load(folder.encoder, runtime);
    encoder.requireInputs('pixel_values');
    const decoder = await OnnxModel.load(folder.decoder, runtime);
    if (!decoder.hasInput('input_ids') && !decoder.hasInput('decoder_input_ids')) decoder.requireInputs('input_ids');
    decoder.requireInputs('encoder_hidden_states');
    const pastDims = new Map(decoder.inputs.filter((i) => i.name.startsWith('past_key_values')).map((i) => [i.name, emptyPastDims(i, config, folder.decoder)]));
    return new OnnxCaptioner(folder, encoder, decoder, pre, tokenizer, search, pastDims);
  }

  async caption(vi: Image8): Promise<string> {
    return this.tokenizer.decode((await this.generate(vi)).tokens);
  }

  /** The decoded token ids (after the start token, without eos) and their log-probability. */
  async generate(vi: Image8): Promise<{ tokens: number[]; logProb: number }> {
    const pixels = toPixelValues(vi, this.pre);
    const enc = await this.encoder.run({ pixel_values: { dims: [1, 3, this.pre.height, this.pre.width], data: pixels } });
    const hidden = enc.last_hidden_state ?? Object.values(enc)[0];
    if (hidden.dims.length !== 3) throw new InputError(this.encoder.file, `expected last_hidden_state [1, N, D], got [${hidden.dims}]`);
    const step: StepFn = (prefixes) => this.step(prefixes, hidden.data as Float32Array, hidden.dims[1], hidden.dims[2]);
    return this.search.numBeams > 1 ? beamSearch(step, this.search) : greedySearch(step, this.search);
  }

  private async step(prefixes: number[][], hidden: Float32Array, n: number, d: number): Promise<Float32Array[]> {
    const b = prefixes.length;
    const s = prefixes[0].length;
    const feeds: Record<string, Feed> = {};
    const ids = { dims: [b, s], data: prefixes.flat() };
    feeds[this.decoder.hasInput('input_ids') ? 'input_ids' : 'decoder_input_ids'] = ids;
    if (this.decoder.hasInput('attention_mask')) feeds.attention_mask = { dims: [b, s], data: new Array(b * s).fill(1) };
    const tiled = new Float32Array(b * n * d);
    for (let i = 0; i < b; i++) tiled.set(hidden, i * n * d);
    feeds.encoder_hidden_states = { dims: [b, n, d], data: tiled };
    if (this.decoder.hasInput('encoder_attention_mask')) feeds.encoder_attention_mask = { dims: [b, n], data: new Array(b * n).fill(1) };
    if (this.decoder.hasInput('use_cache_branch')) feeds.use_cache_branch = { dims: [1], data: [false] };
    for (const [name, dims] of this.pastDims) {
      const concrete = dims.map((x) => (x === 'batch' ? b : x));
      feeds[name] = { dims: concrete, data: new Float32Array(concrete.reduce((a, c) => a * c, 1)) };
    }
    const out = await this.decoder.run(feeds, ['logits']);
    const logits = out.logits;
    const v = logits.dims[2];
    if (logits.dims.length !== 3 || logits.dims[0] !== b || logits.dims[1] !== s) {
      throw new InputError(this.decoder.file, `expected logits [${b}, ${s}, vocab], got [${logits.dims}]`);
    }
    const data = logits.data as Float32Array;
    return prefixes.map((_, i) => data.slice((i * s + s - 1) * v, (i * s + s) * v));
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}

/** Start/eos/length/beams from the configs; BLIP decodes from bos and ends at [SEP] as transformers does. */
function searchOptions(config: Json, gen: Json, o: CaptionOptions, configFile: string, tok: Detokenizer): SearchOptions {
  const text = (config.text_config ?? config.decoder ?? {}) as Json;
  const num = (...vs: unknown[]) => vs.find((v) => typeof v === 'number') as number | undefined;
  const blip = config.model_type === 'blip';
  const startId = blip
    ? num(gen.bos_token_id, text.bos_token_id, tok.tokenId('[DEC]'))
    : num(gen.decoder_start_token_id, config.decoder_start_token_id, text.decoder_start_token_id, gen.bos_token_id, config.bos_token_id, text.bos_token_id);
  const eosRaw = blip ? num(text.sep_token_id, tok.tokenId('[SEP]')) : (gen.eos_token_id ?? config.eos_token_id ?? text.eos_token_id);
  const eosIds = (Array.isArray(eosRaw) ? eosRaw : [eosRaw]).filter((v): v is number => typeof v === 'number');
  if (startId === undefined) throw new InputError(configFile, 'cannot find the decoder start token (decoder_start_token_id / bos_token_id)');
  if (eosIds.length === 0) throw new InputError(configFile, 'cannot find the end token (eos_token_id, or text_config.sep_token_id for BLIP)');
  const numBeams = o.search === 'greedy' ? 1 : (o.numBeams ?? (o.search === 'beam' ? Math.max(2, num(gen.num_beams) ?? 3) : (num(gen.num_beams, config.num_beams) ?? 1)));
  const maxLength = o.maxLength ?? num(gen.max_length, config.max_length, text.max_length) ?? 20;
  if (!Number.isInteger(numBeams) || numBeams < 1) throw new RangeError(`numBeams must be a positive integer, got ${numBeams}`);
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`maxLength must be an integer >= 2, got ${maxLength}`);
  return { startId, eosIds, maxLength, numBeams, lengthPenalty: num(gen.length_penalty) ?? 1 };
}

/**
 * An empty past for a merged decoder: [batch, heads, 0, head_dim]. Heads and head size come
 * from the declared shape, else from the config (num_attention_heads / n_head, hidden_size / n_embd).
 */
function emptyPastDims(info: ValueInfo, config: Json, file: string): Array<number | 'batch'> {
  const text = (config.text_config ?? config.decoder ?? config) as Json;
  const heads = [text.num_attention_heads, text.n_head, text.decoder_attention_heads].find((v) => typeof v === 'number') as number | undefined;
  const hidden = [text.hidden_size, text.n_embd, text.d_model].find((v) => typeof v === 'number') as number | undefined;
  const shape = info.shape;
  if (shape.length !== 4) throw new InputError(file, `input ${info.name}: expected a rank-4 past [batch, heads, seq, head_dim], got [${shape}]; export the plain decoder (decoder_model.onnx)`);
  const pick = (v: number | string, fallback: number | undefined, what: string) => {
    if (typeof v === 'number' && v >= 0) return v;
    if (fallback === undefined) throw new InputError(file, `input ${info.name}: cannot tell the ${what} (symbolic "${v}", config has none); export the plain decoder (decoder_model.onnx)`);
    return fallback;
  };
  return ['batch', pick(shape[1], heads, 'number of heads'), 0, pick(shape[3], heads && hidden ? hidden / heads : undefined, 'head size')];
}

import { MismatchError, InputError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import type { BinaryMask } from '../semantics/types.js';
import type { ModelConfig } from './config.js';
import { sizeMultiple, validateModelConfig, viChannels } from './config.js';
import { rgbToCbCr, rgbToY, yCbCrToRgb } from './color.js';
import type { NetInputs } from './network.js';
import { tesgNetwork } from './network.js';
import { TfOps } from './ops-tfjs.js';
import { ParamStore } from './params.js';
import type { TensorFile } from './safetensors.js';
import { readTensorFile, writeTensorFile } from './safetensors.js';
import { tf } from './tfjs.js';
import { maskPlane } from '../export/layout.js';

/** Metadata key of the model config in a weights file or checkpoint. */
export const CONFIG_KEY = 'tesg_config';
/** Tensors whose names start with this are training state (optimizer moments), not weights. */
export const TRAIN_STATE_PREFIX = 'optim.';

/** One pair to fuse, with its SIG outputs. */
export interface FuseInput {
  ir: Image8;
  vi: Image8;
  mask: BinaryMask;
  /** F_t, text_tokens x text_dim. */
  embedding: Float32Array;
  textEncoderId: string;
}

/**
 * The TeSG network with its parameters, for training (`forward`, differentiable) and for fusing
 * images of any size (`predict`). Created fresh (`create`) or from a weights file (`load`).
 */
export class TesgModel {
  private constructor(
    readonly config: ModelConfig,
    readonly params: ParamStore,
    private readonly ops: TfOps,
  ) {}

  /** A new model with seeded initial parameters; the shapes come from one pass of the definition. */
  static create(config: Partial<ModelConfig> = {}, seed = 0): TesgModel {
    const cfg = validateModelConfig(config as Record<string, unknown>);
    const store = new ParamStore('create', seed);
    const model = new TesgModel(cfg, store, new TfOps(store));
    model.trace();
    store.freeze();
    return model;
  }

  /** From a weights file or checkpoint: the config comes from the file; every weight must be used. */
  static async load(file: string): Promise<TesgModel> {
    return TesgModel.fromTensorFile(await readTensorFile(file), file);
  }

  static fromTensorFile(tfile: TensorFile, file: string): TesgModel {
    const raw = tfile.metadata[CONFIG_KEY];
    if (!raw) throw new InputError(file, `no '${CONFIG_KEY}' in the metadata: not a tesg weights file`);
    const cfg = validateModelConfig(JSON.parse(raw) as Record<string, unknown>, `${file} (${CONFIG_KEY})`);
    const store = new ParamStore('strict');
    for (const [name, arr] of tfile.tensors) if (!name.startsWith(TRAIN_STATE_PREFIX)) store.set(name, arr);
    const model = new TesgModel(cfg, store, new TfOps(store));
    try {
      model.trace();
    } catch (err) {
      model.dispose();
      throw new InputError(file, `weights do not fit the config stored with them: ${(err as Error).message}`);
    }
    const unused = [...store.vars.keys()].filter((n) => !store.used.has(n));
    if (unused.length > 0) {
      model.dispose();
      throw new InputError(file, `weights the network does not use: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', ...' : ''}`);
    }
    return model;
  }

  /** predict pads height and width to this multiple (2^inner levels; 1 for tesg-v1) and crops back. */
  get sizeMultiple(): number {
    return sizeMultiple(this.config);
  }

  /** Run the definition once on a small input (4x4, or the size multiple): creates (create mode) or checks (strict) every parameter. */
  private trace(): void {
    const c = this.config;
    const s = Math.max(4, sizeMultiple(c));
    tf.tidy(() => {
      this.forward({
        ir: tf.zeros([1, s, s, 1]),
        vi: tf.zeros([1, s, s, viChannels(c)]),
        mask: tf.zeros([1, s, s, 1]),
        text: tf.zeros([1, c.text_tokens, c.text_dim]),
      });
    });
  }

  /** The network on prepared tensors (NHWC, 0..1); differentiable with respect to the parameters. */
  forward(inp: NetInputs<tf.Tensor>): tf.Tensor {
    return tesgNetwork(this.ops, this.config, inp);
  }

  /** A model expects the F_t of the text encoder it was trained with. */
  checkTextEncoder(id: string, dim?: number): void {
    if (id !== this.config.text_encoder || (dim !== undefined && dim !== this.config.text_tokens * this.config.text_dim)) {
      throw new MismatchError(
        `the model was trained with text encoder '${this.config.text_encoder}' (${this.config.text_tokens}x${this.config.text_dim}), ` +
          `but the text embedding comes from '${id}'${dim !== undefined ? ` (${dim} values)` : ''}: use the same text encoder as training`,
      );
    }
  }

  /**
   * Fuse one pair of any size. Returns RGB when VI is colour (output 'y': the fused Y with VI's
   * chroma; output 'rgb': the network's colour), else gray.
   */
  async predict(input: FuseInput): Promise<Image8> {
    const { ir, vi, mask } = input;
    if (ir.width !== vi.width || ir.height !== vi.height || mask.width !== vi.width || mask.height !== vi.height) {
      throw new MismatchError(`sizes differ: IR ${ir.width}x${ir.height}, VI ${vi.width}x${vi.height}, mask ${mask.width}x${mask.height}`);
    }
    this.checkTextEncoder(input.textEncoderId, input.embedding.length);
    const { width: w, height: h } = vi;
    const out = tf.tidy(() => {
      const irT = rgbOrGrayToY(image8ToTensor(ir));
      const viRgb = toRgb(image8ToTensor(vi));
      const viIn = this.config.vi_input === 'rgb' ? viRgb : rgbToY(viRgb);
      const maskT = tf.tensor4d(maskPlane(mask.data), [1, h, w, 1]);
      const text = tf.tensor3d(input.embedding, [1, this.config.text_tokens, this.config.text_dim]);
      const m = this.sizeMultiple;
      const padH = (m - (h % m)) % m;
      const padW = (m - (w % m)) % m;
      const pad = (t: tf.Tensor) => (padH || padW ? tf.mirrorPad(t as tf.Tensor4D, [[0, 0], [0, padH], [0, padW], [0, 0]], 'symmetric') : t);
      let y = this.forward({ ir: pad(irT), vi: pad(viIn), mask: pad(maskT), text });
      if (padH || padW) y = tf.slice(y, [0, 0, 0, 0], [1, h, w, y.shape[3]!]);
      if (vi.channels === 1) return this.config.output === 'rgb' ? rgbToY(y) : y;
      return this.config.output === 'rgb' ? y : yCbCrToRgb(y, rgbToCbCr(viRgb));
    });
    try {
      const data = (await out.data()) as Float32Array;
      const channels = out.shape[3] as 1 | 3;
      const bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 255);
      return { width: w, height: h, channels, data: bytes };
    } finally {
      out.dispose();
    }
  }

  /** Weights and config, ready to write; `extra` adds tensors/metadata (checkpoints). */
  async toTensorFile(extra?: Partial<TensorFile>): Promise<TensorFile> {
    const tensors = await this.params.toArrays();
    for (const [k, v] of extra?.tensors ?? []) tensors.set(k, v);
    return { tensors, metadata: { ...extra?.metadata, [CONFIG_KEY]: JSON.stringify(this.config) } };
  }

  async save(file: string): Promise<void> {
    await writeTensorFile(file, await this.toTensorFile());
  }

  dispose(): void {
    this.params.dispose();
    this.ops.dispose();
  }
}

/** [1, H, W, C] float 0..1. */
export function image8ToTensor(img: Image8): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.tensor4d(img.data, [1, img.height, img.width, img.channels], 'int32'), 255) as tf.Tensor4D);
}

function toRgb(t: tf.Tensor): tf.Tensor {
  return t.shape[3] === 3 ? t : tf.tile(t, [1, 1, 1, 3]);
}

/** IR stored as 3 channels (e.g. LLVIP) is taken as its luminance. */
function rgbOrGrayToY(t: tf.Tensor): tf.Tensor {
  return t.shape[3] === 3 ? rgbToY(t) : t;
}

import { availableParallelism } from 'node:os';
import { MismatchError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import type { ModelConfig } from '../model/config.js';
import { sizeMultiple } from '../model/config.js';
import type { FuseInput } from '../model/model.js';
import { outChannels } from '../model/network.js';
import type { OnnxModel, OnnxModelOptions } from '../runtime/onnx.js';
import { OnnxThreadModel } from '../runtime/onnx-thread.js';
import { takePrestartedSession } from '../runtime/onnx-prestart.js';
import { ONNX_OUTPUT, readOnnxConfig } from './onnx-metadata.js';
import type { Rect } from './layout.js';
import { cropChw, networkOutputToImage, networkPlanes, padChwSymmetric } from './layout.js';
import { runTiled } from './tiling.js';

/**
 * Fusion with the exported network on onnxruntime: the same pre- and post-processing as
 * TesgModel.predict (src/model/model.ts), on planar float arrays instead of tfjs tensors.
 */
export interface OnnxFuseOptions {
  /** onnxruntime intra-op threads; default all cores (os.availableParallelism()). */
  threads?: number;
  /** Spin-waiting intra-op threads (default false: they sleep; see OnnxModelOptions.spinning). */
  spinning?: boolean;
  /**
   * Tile size in px: 0 = never tile; default 'auto' = tile (DEFAULT_TILE) only images above
   * autoTilePixels(config), where one whole-image run would exceed MEMORY_BOUND_BYTES.
   */
  tile?: number | 'auto';
  /** Overlap between tiles, px (default DEFAULT_OVERLAP); blended with linear ramps. */
  overlap?: number;
  /**
   * Hold the onnxruntime session on a worker thread (src/runtime/onnx-thread.ts), so that loading it
   * overlaps work on the main thread (default false). Same numbers either way.
   */
  worker?: boolean;
}

export const DEFAULT_TILE = 512;
export const DEFAULT_OVERLAP = 48;
/**
 * onnxruntime's peak memory per pixel with the default model: RSS grew 1.2 GB for one 640x480 run
 * (measured by `tesg bench`, docs/onnx-export.md; the pixels x tokens text-attention scores are
 * the largest intermediates).
 */
export const BYTES_PER_PIXEL = 3900;
/**
 * The same for the U-shaped configs (docs/model.md): at most 1,170 B per pixel of peak RSS over the
 * u2 presets, measured whole-image at 1280x1024 (`tesg bench --compare u2-a,u2-b,u2-c --sizes
 * 1280x1024 --tile 0`; u2-c, MGCA-TDAF at 1/2, is the largest); rounded up.
 */
export const BYTES_PER_PIXEL_U = 1200;
/** One run stays under this; larger images are tiled (DEFAULT_TILE: about 1 GB per tile). */
export const MEMORY_BOUND_BYTES = 2 * 1024 ** 3;
/** Whole-image runs up to this many pixels with tesg-v1 (about 550k: 640x480 whole, LLVIP's 1280x1024 tiled). */
export const AUTO_TILE_PIXELS = Math.floor(MEMORY_BOUND_BYTES / BYTES_PER_PIXEL);

/** Whole-image runs up to this many pixels for `cfg` (a U-shape: about 1.8M, so 1280x1024 runs whole). */
export function autoTilePixels(cfg: ModelConfig): number {
  return cfg.level_dims.length === 0 ? AUTO_TILE_PIXELS : Math.floor(MEMORY_BOUND_BYTES / BYTES_PER_PIXEL_U);
}

/** The network's inputs as planar float arrays (one image, values 0..1). */
export interface PlanarInputs {
  width: number;
  height: number;
  /** [1, H, W] */
  ir: Float32Array;
  /** [1 or 3, H, W] */
  vi: Float32Array;
  /** [1, H, W] */
  mask: Float32Array;
  /** [text_tokens * text_dim] */
  text: Float32Array;
}

export class OnnxFuser {
  private constructor(
    readonly config: ModelConfig,
    readonly model: OnnxModel | OnnxThreadModel,
    readonly threads: number,
  ) {}

  /**
   * Cold start (docs/onnx-export.md): this module loads neither onnxruntime-node nor the export's
   * modules. With `worker` the worker thread starts first, and only it loads onnxruntime and the
   * session, while this thread reads the config from the file's metadata (./onnx-metadata.ts: the
   * top level of the protobuf only). In-thread, onnxruntime loads on first use. Errors: the config's
   * first (an unreadable file, not an ONNX model, no tesg config), then the session's.
   */
  static async load(file: string, options: OnnxFuseOptions = {}): Promise<OnnxFuser> {
    const threads = options.threads ?? availableParallelism();
    const modelOptions: OnnxModelOptions = { threads, spinning: options.spinning ?? false };
    if (!options.worker) {
      const config = await readOnnxConfig(file);
      const { OnnxModel } = await import('../runtime/onnx.js');
      return OnnxFuser.checked(config, await OnnxModel.load(file, modelOptions), threads);
    }
    const prestarted = takePrestartedSession(file, modelOptions);
    const loading = prestarted ? prestarted.then((m) => m ?? OnnxThreadModel.load(file, modelOptions)) : OnnxThreadModel.load(file, modelOptions);
    let config: ModelConfig;
    try {
      config = await readOnnxConfig(file);
    } catch (err) {
      // The config's error is the one to report; the session, if it loaded, goes with its worker.
      await loading.then((m) => m.release(), () => {});
      throw err;
    }
    return OnnxFuser.checked(config, await loading, threads);
  }

  private static async checked(config: ModelConfig, model: OnnxModel | OnnxThreadModel, threads: number): Promise<OnnxFuser> {
    try {
      model.requireInputs('ir', 'vi', 'mask', 'text');
    } catch (err) {
      await model.release();
      throw err;
    }
    return new OnnxFuser(config, model, threads);
  }

  /** One run of the network on a whole image: planar [channels, H, W] output in 0..1. */
  async runPlanar(inp: PlanarInputs): Promise<Float32Array> {
    const { width: w, height: h } = inp;
    const c = this.config;
    const m = sizeMultiple(c);
    const [ph, pw] = [Math.ceil(h / m) * m, Math.ceil(w / m) * m];
    const pad = (x: Float32Array, ch: number) => padChwSymmetric(x, ch, h, w, ph, pw);
    const viCh = inp.vi.length / (w * h);
    const out = await this.model.run(
      {
        ir: { dims: [1, 1, ph, pw], data: pad(inp.ir, 1) },
        vi: { dims: [1, viCh, ph, pw], data: pad(inp.vi, viCh) },
        mask: { dims: [1, 1, ph, pw], data: pad(inp.mask, 1) },
        text: { dims: [1, c.text_tokens, c.text_dim], data: inp.text },
      },
      [ONNX_OUTPUT],
    );
    const y = out[ONNX_OUTPUT].data as Float32Array;
    return ph === h && pw === w ? y : cropChw(y, ph, pw, outChannels(c), { x: 0, y: 0, width: w, height: h });
  }

  /** The network on a whole image, tiled when `tile` says so. */
  async runNetwork(inp: PlanarInputs, options: OnnxFuseOptions = {}): Promise<Float32Array> {
    const { width: w, height: h } = inp;
    const tile = options.tile ?? 'auto';
    const size = tile === 'auto' ? (w * h > autoTilePixels(this.config) ? DEFAULT_TILE : 0) : tile;
    if (size <= 0 || (w <= size && h <= size)) return this.runPlanar(inp);
    const viCh = inp.vi.length / (w * h);
    const crop = (x: Float32Array, ch: number, r: Rect) => cropChw(x, h, w, ch, r);
    return runTiled(w, h, outChannels(this.config), size, options.overlap ?? DEFAULT_OVERLAP, (r) =>
      this.runPlanar({ width: r.width, height: r.height, ir: crop(inp.ir, 1, r), vi: crop(inp.vi, viCh, r), mask: crop(inp.mask, 1, r), text: inp.text }),
    );
  }

  /** Fuse one pair, as TesgModel.predict: RGB when VI is colour (Y with VI's chroma, or the network's RGB), else gray. */
  async predict(input: FuseInput, options: OnnxFuseOptions = {}): Promise<Image8> {
    const { ir, vi, mask } = input;
    const c = this.config;
    if (ir.width !== vi.width || ir.height !== vi.height || mask.width !== vi.width || mask.height !== vi.height) {
      throw new MismatchError(`sizes differ: IR ${ir.width}x${ir.height}, VI ${vi.width}x${vi.height}, mask ${mask.width}x${mask.height}`);
    }
    if (input.textEncoderId !== c.text_encoder || input.embedding.length !== c.text_tokens * c.text_dim) {
      throw new MismatchError(
        `the model was trained with text encoder '${c.text_encoder}' (${c.text_tokens}x${c.text_dim}), but the text embedding comes from ` +
          `'${input.textEncoderId}' (${input.embedding.length} values): use the same text encoder as training`,
      );
    }
    const planes = networkPlanes(ir, vi, mask, c.vi_input);
    const y = await this.runNetwork({ width: vi.width, height: vi.height, ir: planes.ir, vi: planes.vi, mask: planes.mask, text: input.embedding }, options);
    return networkOutputToImage(y, c.output, vi, planes.viRgb);
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}

/** Load, fuse one pair, release. For many pairs keep an OnnxFuser. */
export async function fuseOnnx(modelFile: string, input: FuseInput, options: OnnxFuseOptions = {}): Promise<Image8> {
  const fuser = await OnnxFuser.load(modelFile, options);
  try {
    return await fuser.predict(input, options);
  } finally {
    await fuser.release();
  }
}

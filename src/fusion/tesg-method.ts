import { lumaPlane, planeToGray8 } from '../image/color.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, MismatchError, UsageError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import type { FuseInput } from '../model/model.js';
import type { SigProviders } from '../semantics/sig.js';
import type { SigResult } from '../semantics/types.js';
import type { FuseOptions, FusionMethod } from './registry.js';

/**
 * The TeSG network as a fusion method (`tesg fuse --method tesg`): the SIG default (detector
 * captions and masks, lexicon text encoder) for M and F_t, then the network on ONNX Runtime
 * (the exported `<weights>.onnx` beside the weights) or on tfjs-wasm. Heavy modules load on first use.
 *
 * params: weights (a .safetensors file; default DEFAULT_WEIGHTS_FILE), backend ('onnx' | 'tfjs';
 * default onnx when the exported model exists beside the weights, else tfjs), threads (onnxruntime
 * threads, default all cores), tile (px, 0 = never; default auto), caption, keyword (string[]),
 * sig (a SIG cache folder from `tesg sig`: M and F_t are read for opts.stem instead of computed).
 */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_WEIGHTS_FILE = path.join(PACKAGE_ROOT, 'weights', 'tesg.safetensors');

export type NetworkBackend = 'onnx' | 'tfjs';

/** The exported ONNX model that belongs beside a weights file: same path, extension .onnx. */
export function onnxBeside(weightsFile: string): string {
  return weightsFile.replace(/\.safetensors$/i, '') + '.onnx';
}

export function chooseBackend(weightsFile: string, requested?: string): NetworkBackend {
  if (requested !== undefined && requested !== 'onnx' && requested !== 'tfjs') {
    throw new UsageError(`--backend must be onnx or tfjs, got '${requested}'`);
  }
  const onnx = onnxBeside(weightsFile);
  if (requested === 'onnx' && !existsSync(onnx)) {
    throw new InputError(onnx, `no exported model beside the weights; run \`tesg export --weights ${weightsFile} --out ${onnx}\` or use --backend tfjs`);
  }
  return requested ?? (existsSync(onnx) ? 'onnx' : 'tfjs');
}

interface Network {
  predict(input: FuseInput): Promise<Image8>;
}

export class TesgFusion implements FusionMethod {
  readonly name = 'tesg';
  readonly description = 'the TeSG network (SIG default + shipped weights; ONNX Runtime when the exported model is present)';
  private sig?: SigProviders;
  private readonly networks = new Map<string, Promise<Network>>();

  async fuse(ir: Image8, vi: Image8, opts: FuseOptions = {}): Promise<Image8> {
    const p = opts.params ?? {};
    const weights = typeof p.weights === 'string' ? p.weights : DEFAULT_WEIGHTS_FILE;
    const backend = chooseBackend(weights, p.backend === undefined ? undefined : String(p.backend));
    const sig = typeof p.sig === 'string' ? await cachedSig(p.sig, ir, opts, p) : await this.liveSig(ir, vi, p);
    const net = await this.network(weights, backend, p);
    const fused = await net.predict({ ir, vi, mask: sig.mask, embedding: sig.embedding, textEncoderId: sig.textEncoderId });
    return opts.gray && fused.channels === 3 ? toGray(fused) : fused;
  }

  private async liveSig(ir: Image8, vi: Image8, p: NonNullable<FuseOptions['params']>): Promise<Pick<SigResult, 'mask' | 'embedding' | 'textEncoderId'>> {
    const { runSig, defaultProviders } = await import('../semantics/sig.js');
    this.sig ??= defaultProviders();
    const keywords = Array.isArray(p.keyword) ? p.keyword : typeof p.keyword === 'string' ? [p.keyword] : undefined;
    return runSig({ ir, vi, providers: this.sig, caption: typeof p.caption === 'string' ? p.caption : undefined, keywords });
  }

  private network(weights: string, backend: NetworkBackend, p: NonNullable<FuseOptions['params']>): Promise<Network> {
    const threads = p.threads === undefined ? undefined : Number(p.threads);
    const tile = p.tile === undefined ? ('auto' as const) : Number(p.tile);
    const key = `${backend}|${weights}|${threads}|${tile}`;
    let net = this.networks.get(key);
    if (!net) {
      net = (async (): Promise<Network> => {
        if (!existsSync(weights)) {
          throw new InputError(weights, 'no TeSG weights here; train a model with `tesg train` or pass --weights FILE');
        }
        if (backend === 'onnx') {
          const { OnnxFuser } = await import('../export/onnx-fuse.js');
          const fuser = await OnnxFuser.load(onnxBeside(weights), { threads });
          return { predict: (input) => fuser.predict(input, { tile }) };
        }
        const { initBackend } = await import('../runtime/backend.js');
        await initBackend('wasm');
        const { TesgModel } = await import('../model/model.js');
        return TesgModel.load(weights);
      })();
      this.networks.set(key, net);
    }
    return net;
  }
}

/** The gray result: BT.601 luma, rounded as every fused plane is. */
function toGray(img: Image8): Image8 {
  return planeToGray8(lumaPlane(img), img.width, img.height);
}

/**
 * M and F_t of the pair from a SIG cache (`tesg sig --out DIR`), which skips the SIG: the cache holds
 * exactly what the SIG would compute, so the fused image is the same.
 */
async function cachedSig(dir: string, ir: Image8, opts: FuseOptions, p: NonNullable<FuseOptions['params']>): Promise<Pick<SigResult, 'mask' | 'embedding' | 'textEncoderId'>> {
  if (p.caption !== undefined || p.keyword !== undefined) {
    throw new UsageError('--sig reads the caption and keywords the cache was made with; drop --caption/--keyword, or rebuild the cache with them (tesg sig --caption/--keyword)');
  }
  if (!opts.stem) throw new UsageError('a SIG cache is looked up by the pair\'s name stem; pass FuseOptions.stem');
  const { readSigCache } = await import('../semantics/cache.js');
  const e = await readSigCache(dir, opts.stem);
  if (e.width !== ir.width || e.height !== ir.height) {
    throw new MismatchError(`SIG cache entry '${opts.stem}' in ${dir} is ${e.width}x${e.height}, the images are ${ir.width}x${ir.height}; rebuild the cache from these images`);
  }
  return e;
}

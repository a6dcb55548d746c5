import { lumaPlane, planeToGray8 } from '../image/color.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, MismatchError, UsageError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import type { FuseInput } from '../model/model.js';
import type { BuiltinSigVersion, SigProviders } from '../semantics/sig.js';
import type { SigResult } from '../semantics/types.js';
import { DEFAULT_FUSION_METHOD, type FuseOptions, type FusionMethod } from './registry.js';
import { markPhase } from '../util/startup-trace.js';

/**
 * The TeSG network as a fusion method (`tesg fuse --method tesg`): the SIG default (detector
 * captions and masks, lexicon text encoder) for M and F_t, then the network on ONNX Runtime
 * (the exported `<weights>.onnx` beside the weights) or on tfjs-wasm. Heavy modules load on first use.
 *
 * params: weights (a .safetensors file; default DEFAULT_WEIGHTS_FILE), backend ('onnx' | 'tfjs';
 * default onnx when the exported model exists beside the weights, else tfjs), threads (onnxruntime
 * threads, default all cores), tile (px, 0 = never; default auto), caption, keyword (string[]),
 * sig (a SIG cache folder from `tesg sig`: M and F_t are read for opts.stem instead of computed),
 * sigVersion ('v1' | 'v2' | 'v3': the built-in SIG to run; default the one the weights were trained with,
 * from their `tesg_sig` metadata, and v1 for weights without that record, i.e. tesg-v1).
 */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_WEIGHTS_FILE = path.join(PACKAGE_ROOT, 'weights', 'tesg.safetensors');

export type NetworkBackend = 'onnx' | 'tfjs';

/** What `tesg fuse` and `tesg queue add` use without --method: the network when its weights ship, else the classic default. */
export function defaultFuseMethod(): string {
  return existsSync(DEFAULT_WEIGHTS_FILE) ? 'tesg' : DEFAULT_FUSION_METHOD;
}

/** The weights file the tesg method runs for these params: params.weights, else DEFAULT_WEIGHTS_FILE. */
export function weightsFileOf(params: Readonly<Record<string, unknown>>): string {
  return typeof params.weights === 'string' ? params.weights : DEFAULT_WEIGHTS_FILE;
}

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
  readonly usesSig = true;
  private readonly sigs = new Map<BuiltinSigVersion, SigProviders>();
  private readonly networks = new Map<string, Promise<Network>>();

  async fuse(ir: Image8, vi: Image8, opts: FuseOptions = {}): Promise<Image8> {
    const p = opts.params ?? {};
    const weights = weightsFileOf(p);
    const backend = chooseBackend(weights, p.backend === undefined ? undefined : String(p.backend));
    // The ONNX session loads on a worker thread while the SIG runs here (overlapped on 2 cores: a
    // cold `tesg fuse` saves the session's 0.2-0.4 s); tfjs loads after the SIG, on this thread.
    const early = backend === 'onnx' ? this.network(weights, backend, p) : undefined;
    early?.catch(() => {}); // awaited below; a SIG error must not leave it an unhandled rejection
    let sig: Pick<SigResult, 'mask' | 'embedding' | 'textEncoderId'>;
    try {
      sig = opts.guidance ?? (typeof p.sig === 'string' ? await cachedSig(p.sig, ir, opts, p, weights) : await this.liveSig(ir, vi, p, weights));
    } catch (err) {
      // Let the session finish loading before the error goes up: the CLI then exits, and a process
      // exit that ends the worker inside onnxruntime's native loading aborts the process (SIGABRT,
      // "terminate called after throwing an instance of 'Napi::Error'") instead of exiting with
      // the error's code. Loaded, the worker idles (as after every fuse) and the network stays cached.
      await early?.catch(() => {});
      throw err;
    }
    markPhase('sig');
    const net = await (early ?? this.network(weights, backend, p));
    markPhase('network-loaded');
    const fused = await net.predict({ ir, vi, mask: sig.mask, embedding: sig.embedding, textEncoderId: sig.textEncoderId });
    markPhase('network-run');
    return opts.gray && fused.channels === 3 ? toGray(fused) : fused;
  }

  private async liveSig(ir: Image8, vi: Image8, p: NonNullable<FuseOptions['params']>, weights: string): Promise<Pick<SigResult, 'mask' | 'embedding' | 'textEncoderId'>> {
    const { runSig } = await import('../semantics/sig.js');
    const providers = await this.sigProviders(p, weights);
    const keywords = Array.isArray(p.keyword) ? p.keyword : typeof p.keyword === 'string' ? [p.keyword] : undefined;
    return runSig({ ir, vi, providers, caption: typeof p.caption === 'string' ? p.caption : undefined, keywords });
  }

  /**
   * The SIG providers `fuse` runs for these params: params.sigVersion, else the built-in version the
   * weights were trained with. `tesg fuse-video` computes its temporal SIG with these, so its frames
   * are guided by the same SIG as `tesg fuse`.
   */
  async sigProviders(p: NonNullable<FuseOptions['params']> = {}, weights = weightsFileOf(p)): Promise<SigProviders> {
    const { defaultProviders } = await import('../semantics/sig.js');
    markPhase('sig-modules');
    const version = await builtinSigVersion(p, weights);
    await noteOtherSig(version, weights);
    let providers = this.sigs.get(version);
    if (!providers) this.sigs.set(version, (providers = defaultProviders({ version })));
    return providers;
  }

  private network(weights: string, backend: NetworkBackend, p: NonNullable<FuseOptions['params']>): Promise<Network> {
    const threads = p.threads === undefined ? undefined : Number(p.threads);
    const tile = p.tile === undefined ? ('auto' as const) : Number(p.tile);
    const key = `${backend}|${weights}|${threads}|${tile}`;
    let net = this.networks.get(key);
    if (!net) {
      net = (async (): Promise<Network> => {
        if (!existsSync(weights)) {
          throw new InputError(weights, p.weights === undefined
            ? 'no TeSG weights here; train a model with `tesg train` or pass --weights FILE'
            : 'no such weights file; give a tesg.safetensors (the shipped ones: weights/tesg.safetensors, the default; weights/tesg-v2.1/, tesg-v2/, tesg-v1/tesg.safetensors; the .onnx beside it is used)');
        }
        if (backend === 'onnx') {
          const { OnnxFuser } = await import('../export/onnx-fuse.js');
          const fuser = await OnnxFuser.load(onnxBeside(weights), { threads, worker: true });
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

const checkedCaches = new Set<string>();

/**
 * One stderr warning when a SIG cache comes from another built-in SIG version than the model's, with
 * the `tesg sig` command that rebuilds it (on the pair's folders when the caller named the files).
 */
async function warnIfOtherSig(dir: string, weights: string, sources?: FuseOptions['sources']): Promise<void> {
  const key = `${dir}|${weights}`;
  if (checkedCaches.has(key)) return;
  checkedCaches.add(key);
  const [{ readHeader }, { sigVersionOfMasker }] = await Promise.all([import('../semantics/cache.js'), import('../semantics/sig.js')]);
  // No readable header: readSigCache below says what is missing.
  const header = await readHeader(dir).catch(() => undefined);
  const cacheVersion = sigVersionOfMasker(header?.masker);
  const modelVersion = await trainedSigVersion(weights);
  if (cacheVersion && cacheVersion !== modelVersion) {
    const folders = sources ? `--ir ${path.dirname(sources.ir)} --vi ${path.dirname(sources.vi)}` : '--ir IR_DIR --vi VI_DIR';
    process.stderr.write(`tesg fuse: warning: the SIG cache ${dir} was made by SIG ${cacheVersion}, but ${weights} was trained with SIG ${modelVersion}; rebuild it with \`tesg sig ${folders} --sig-version ${modelVersion} --force --out ${dir}\` (or --out a new folder)\n`);
  }
}

const notedVersions = new Set<string>();

/**
 * One stderr note per process when --sig-version picks another built-in SIG than the weights were
 * trained with: allowed (to compare SIGs), but the masks differ from those the model learnt from.
 */
async function noteOtherSig(version: BuiltinSigVersion, weights: string): Promise<void> {
  // a missing file fails with its own error below; a model of a non-built-in SIG has no version to name
  const trained = existsSync(weights) ? await recordedSigVersion(weights) : undefined;
  const key = `${version}|${weights}`;
  if (trained === undefined || trained === version || notedVersions.has(key)) return;
  notedVersions.add(key);
  process.stderr.write(`tesg: note: --sig-version ${version}, but ${weights} was trained with SIG ${trained}; its masks differ from those the model learnt from\n`);
}

const trainedVersions = new Map<string, Promise<BuiltinSigVersion | undefined>>();

/**
 * The built-in SIG version `fuse` runs for these params: params.sigVersion (`--sig-version`), else the
 * one the weights were trained with (trainedSigVersion). UsageError for an unknown --sig-version.
 */
export async function builtinSigVersion(p: Readonly<Record<string, unknown>>, weights = weightsFileOf(p)): Promise<BuiltinSigVersion> {
  if (p.sigVersion === undefined) return trainedSigVersion(weights);
  const { parseSigVersion } = await import('../semantics/sig.js');
  return parseSigVersion(String(p.sigVersion));
}

/**
 * The built-in SIG version `fuse` runs for a weights file: the one it was trained with
 * (recordedSigVersion); v1 for a missing file; for weights trained on another SIG (ONNX providers,
 * whose version is no built-in one) the default built-in version (DEFAULT_SIG_VERSION, v3 since
 * tesg-v2.2), a stand-in: `tesg fuse --sig CACHE` with a cache of that SIG is what such a model needs.
 */
export async function trainedSigVersion(weights: string): Promise<BuiltinSigVersion> {
  if (!existsSync(weights)) return 'v1';
  const recorded = await recordedSigVersion(weights);
  if (recorded) return recorded;
  return (await import('../semantics/sig.js')).DEFAULT_SIG_VERSION;
}

/**
 * The built-in SIG version a weights file records: its `tesg_sig` metadata (the training SIG cache's
 * header) names the masker; no record (tesg-v1, trained before the record existed) is v1; a masker
 * that is no built-in SIG (ONNX providers) is undefined. Read once per file per process.
 */
export function recordedSigVersion(weights: string): Promise<BuiltinSigVersion | undefined> {
  let v = trainedVersions.get(weights);
  if (!v) {
    v = (async () => {
      const [{ readTensorFileMetadata }, { sigVersionOfMasker }] = await Promise.all([import('../model/safetensors.js'), import('../semantics/sig.js')]);
      const raw = (await readTensorFileMetadata(weights)).tesg_sig;
      if (!raw) return 'v1';
      const masker = (JSON.parse(raw) as { header?: { masker?: string } }).header?.masker;
      return sigVersionOfMasker(masker);
    })();
    trainedVersions.set(weights, v);
  }
  return v;
}

/** The gray result: BT.601 luma, rounded as every fused plane is. */
function toGray(img: Image8): Image8 {
  return planeToGray8(lumaPlane(img), img.width, img.height);
}

/**
 * M and F_t of the pair from a SIG cache (`tesg sig --out DIR`), which skips the SIG: the cache holds
 * exactly what the SIG would compute, so the fused image is the same.
 */
async function cachedSig(dir: string, ir: Image8, opts: FuseOptions, p: NonNullable<FuseOptions['params']>, weights: string): Promise<Pick<SigResult, 'mask' | 'embedding' | 'textEncoderId'>> {
  if (p.caption !== undefined || p.keyword !== undefined) {
    throw new UsageError('--sig reads the caption and keywords the cache was made with; drop --caption/--keyword, or rebuild the cache with them (tesg sig --caption/--keyword)');
  }
  if (!opts.stem) throw new UsageError('a SIG cache is looked up by the pair\'s name stem; pass FuseOptions.stem');
  const { readSigCache } = await import('../semantics/cache.js');
  await warnIfOtherSig(dir, weights, opts.sources);
  const e = await readSigCache(dir, opts.stem);
  if (e.width !== ir.width || e.height !== ir.height) {
    throw new MismatchError(`SIG cache entry '${opts.stem}' in ${dir} is ${e.width}x${e.height}, the images are ${ir.width}x${ir.height}; rebuild the cache from these images`);
  }
  return e;
}

import { UsageError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import type { SigProviders } from '../semantics/sig.js';
import type { SigResult } from '../semantics/types.js';

/**
 * Fusion methods by name. The classic baselines register themselves in ./index.ts; the TeSG network
 * (src/model/) registers the same way, so the CLI, the evaluator and the library treat every method alike.
 */
export interface FuseOptions {
  /**
   * false (default): fuse the luminance (IR gray with VI's Y) and recolour with VI's chroma, so a colour
   * VI gives a colour result. true: fuse the reference gray images (as the evaluator reads them) and
   * return one channel.
   */
  gray?: boolean;
  /**
   * The pair's name stem (tesg fuse sets it: the shared stem in folder mode, the IR file's stem for one
   * pair), for methods that look up per-pair data, e.g. the tesg method's SIG cache (params.sig).
   */
  stem?: string;
  /** The pair's files (tesg fuse sets them), for messages that give a command to run on their folders. */
  sources?: { ir: string; vi: string };
  /** Method-specific settings, e.g. { levels: 5 } for laplacian; a method ignores keys it does not know. */
  params?: Readonly<Record<string, string | number | boolean | readonly string[]>>;
  /**
   * M and F_t computed by the caller, for methods that use the SIG (usesSig): the method uses them
   * instead of running its own SIG. `tesg fuse-video` passes its temporal SIG here (src/video/).
   */
  guidance?: SigGuidance;
}

/** What a SIG-guided method needs of the SIG: M (0/1, image size), F_t (tokens x dim) and the encoder's id. */
export type SigGuidance = Pick<SigResult, 'mask' | 'embedding' | 'textEncoderId'>;

export interface FusionMethod {
  /** Registry key and CLI name (--method NAME). */
  readonly name: string;
  /** One line for --help and docs. */
  readonly description: string;
  /** The method is guided by the SIG (M, F_t) and takes FuseOptions.guidance. */
  readonly usesSig?: boolean;
  /** For a SIG-guided method: the SIG providers it runs itself for these params (callers computing guidance use the same). */
  sigProviders?(params?: FuseOptions['params']): Promise<SigProviders>;
  /** Fuse an aligned IR/VI pair of equal size; the result has that size. */
  fuse(ir: Image8, vi: Image8, opts?: FuseOptions): Promise<Image8>;
}

/** The method `tesg fuse` uses without --method. The network replaces this once it ships. */
export const DEFAULT_FUSION_METHOD = 'laplacian';

const methods = new Map<string, FusionMethod>();

export function registerFusionMethod(method: FusionMethod): void {
  if (methods.has(method.name)) throw new Error(`fusion method '${method.name}' is registered twice`);
  methods.set(method.name, method);
}

export function getFusionMethod(name: string): FusionMethod {
  const m = methods.get(name);
  if (!m) throw new UsageError(`unknown fusion method '${name}'; available: ${fusionMethodNames().join(', ')}`);
  return m;
}

export function fusionMethodNames(): string[] {
  return [...methods.keys()];
}

export function listFusionMethods(): FusionMethod[] {
  return [...methods.values()];
}

import { MismatchError, UsageError } from '../errors.js';
import type { Image8 } from '../image/types.js';
import { DetectorSig } from './default-provider.js';
import { ThermalSig, THERMAL_SIG_ID, THERMAL_SIG_V3, THERMAL_SIG_V3_ID, type ThermalSigOptions } from './thermal-provider.js';
import { DEFAULT_VOCAB, findKeywords, removeKeywords, type KeywordVocab } from './keywords.js';
import { LexiconEncoder } from './lexicon-encoder.js';
import { unionMask } from './mask-refine.js';
import type { CaptionProvider, MaskProvider, SigResult, TextEncoder } from './types.js';

/**
 * The Semantic Information Generator pipeline (paper sec. 3.2, Fig. 3):
 * T = caption(VI); V* = key-object keywords of T; T^ = T without V*;
 * M_vis, M_ir = masks(VI/IR, T, T^) (eq. 2); M = M_vis U M_ir (eq. 3); F_t = encode(T).
 * User control: a given caption replaces the captioner's; given keywords replace V*.
 */

export interface SigProviders {
  captioner: CaptionProvider;
  masker: MaskProvider;
  encoder: TextEncoder;
}

export interface SigInput {
  ir: Image8;
  vi: Image8;
  /** User caption T (skips the captioner). */
  caption?: string;
  /** User V* (any surface form the vocabulary knows: "bike" means bicycle). */
  keywords?: readonly string[];
  providers: SigProviders;
  vocab?: KeywordVocab;
}

/**
 * Versions of the built-in SIG: 'v3' (default since tesg-v2.2; ThermalSig with THERMAL_SIG_V3: v2 plus
 * confirmation of weak boxes, tighter masks and warm-object floors and growth, at night only), 'v2'
 * (ThermalSig: detector + IR warm objects, issue 12; what tesg-v2 and tesg-v2.1 were trained with) and
 * 'v1' (DetectorSig, what tesg-v1 was trained with). A model records the SIG of its training cache
 * (weights metadata `tesg_sig`), and `tesg fuse` runs that version for it (sigVersionOfMasker).
 */
export type BuiltinSigVersion = 'v1' | 'v2' | 'v3';
export const BUILTIN_SIG_VERSIONS: readonly BuiltinSigVersion[] = ['v1', 'v2', 'v3'];
export const DEFAULT_SIG_VERSION: BuiltinSigVersion = 'v3';

export interface DefaultProviderOptions extends ThermalSigOptions {
  version?: BuiltinSigVersion;
}

/** The built-in providers: the COCO detector (+ IR warm objects in v2 and v3) for caption and masks, the lexicon text encoder. */
export function defaultProviders(options: DefaultProviderOptions = {}): SigProviders {
  const { version = DEFAULT_SIG_VERSION, ...rest } = options;
  const det = version === 'v1' ? new DetectorSig(rest) : new ThermalSig(version === 'v3' ? { ...THERMAL_SIG_V3, ...rest } : rest);
  return { captioner: det, masker: det, encoder: new LexiconEncoder() };
}

/** A --sig-version value, or a UsageError naming the choices. */
export function parseSigVersion(v: string): BuiltinSigVersion {
  if ((BUILTIN_SIG_VERSIONS as readonly string[]).includes(v)) return v as BuiltinSigVersion;
  throw new UsageError(`--sig-version must be one of ${BUILTIN_SIG_VERSIONS.join(', ')}, got '${v}'`);
}

/** The built-in version whose masker has this name; undefined for other providers (ONNX, user). */
export function sigVersionOfMasker(masker: string | undefined): BuiltinSigVersion | undefined {
  if (masker === THERMAL_SIG_V3_ID) return 'v3';
  if (masker === THERMAL_SIG_ID) return 'v2';
  if (masker === new DetectorSig().name) return 'v1';
  return undefined;
}

/** "bikes" -> "bicycle"; a word outside the vocabulary stays as given (lower-cased). */
export function canonicalKeyword(word: string, vocab: KeywordVocab = DEFAULT_VOCAB): string {
  const w = word.toLowerCase().trim();
  for (const [key, forms] of Object.entries(vocab)) if (key === w || forms.includes(w)) return key;
  return w;
}

export async function runSig(input: SigInput): Promise<SigResult> {
  const { ir, vi, providers } = input;
  const vocab = input.vocab ?? DEFAULT_VOCAB;
  if (ir.width !== vi.width || ir.height !== vi.height) {
    throw new MismatchError(`IR is ${ir.width}x${ir.height} but VI is ${vi.width}x${vi.height}; the pair must be aligned and the same size`);
  }
  const caption = (input.caption ?? (await providers.captioner.caption(vi, ir))).trim();
  const keywords = input.keywords?.length
    ? [...new Set(input.keywords.map((k) => canonicalKeyword(k, vocab)))]
    : findKeywords(caption, vocab);
  const captionWithout = removeKeywords(caption, keywords, vocab);
  const { vis, ir: irMask } = await providers.masker.masks({ vi, ir, caption, captionWithout, keywords });
  const embedding = await providers.encoder.encode(caption);
  return {
    caption,
    captionWithout,
    keywords,
    maskVis: vis,
    maskIr: irMask,
    mask: unionMask(vis, irMask),
    embedding,
    textEncoderId: providers.encoder.id,
  };
}

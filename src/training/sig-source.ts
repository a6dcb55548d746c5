import { readSigCache } from '../semantics/cache.js';
import type { BinaryMask } from '../semantics/types.js';

/**
 * Where training gets the SIG outputs of a pair: the mask M and F_t. The one place that reads the
 * SIG cache written by `tesg sig` (src/semantics/cache.ts); tests pass an in-memory source instead.
 */
export interface SigEntry {
  mask: BinaryMask;
  /** F_t, tokens x dim, row-major. */
  embedding: Float32Array;
  textEncoderId: string;
}

export type SigSource = (stem: string) => Promise<SigEntry>;

/** F_t and M = M_vis U M_ir for each stem from the cache folder `dir` (`tesg sig --out dir`). */
export function sigCacheSource(dir: string): SigSource {
  return async (stem) => {
    const r = await readSigCache(dir, stem);
    return { mask: r.mask, embedding: r.embedding, textEncoderId: r.textEncoderId };
  };
}

/**
 * Tiny configurations and synthetic data for the model and training tests: small enough that a
 * training step on tfjs-cpu takes well under a second, structured enough (a bright "object" in IR,
 * texture in VI) that the losses have something to learn.
 */
import type { ModelConfig } from '../../src/model/config.js';
import type { TrainPair, TrainSample } from '../../src/training/data.js';
import type { TrainData } from '../../src/training/trainer.js';

export const TINY: Partial<ModelConfig> = { dim: 8, heads: 2, enc_blocks: 1, dec_blocks: 1 };
export const TEXT_ID = 'tesg-lexicon-v1-77x64';

export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** A w x h pair: VI a colour gradient with noise, IR dark with a bright square; mask on the square. */
export function syntheticSample(w: number, h: number, seed: number, embedding?: Float32Array): TrainSample {
  const r = lcg(seed);
  const ir = new Uint8Array(w * h);
  const vi = new Uint8Array(w * h * 3);
  const mask = new Uint8Array(w * h);
  const x0 = Math.floor(w / 4) + (seed % 3);
  const y0 = Math.floor(h / 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const inside = x >= x0 && x < x0 + w / 3 && y >= y0 && y < y0 + h / 3;
      ir[i] = inside ? 220 : 30 + Math.floor(r() * 20);
      mask[i] = inside ? 1 : 0;
      vi[3 * i] = Math.floor((255 * x) / w);
      vi[3 * i + 1] = Math.floor((255 * y) / h);
      vi[3 * i + 2] = Math.floor(r() * 255);
    }
  }
  return {
    width: w,
    height: h,
    ir,
    vi,
    sig: { mask: { width: w, height: h, data: mask }, embedding: embedding ?? randomFloats(77 * 64, seed + 99, 0.5), textEncoderId: TEXT_ID },
  };
}

/** In-memory training data of `n` pairs. */
export function syntheticData(n: number, w: number, h: number, embedding?: Float32Array): TrainData {
  const samples = Array.from({ length: n }, (_, i) => syntheticSample(w, h, i + 1, embedding));
  const pairs: TrainPair[] = samples.map((_, i) => ({ stem: `s${i}`, irPath: `mem:ir/s${i}`, viPath: `mem:vi/s${i}` }));
  return { pairs, load: async (p) => samples[Number(p.stem.slice(1))] };
}

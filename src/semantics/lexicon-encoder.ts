import type { TextEncoder } from './types.js';

/**
 * The built-in text encoder: a deterministic lexicon embedding, a stand-in for the CLIP text
 * encoder of Stable Diffusion (paper sec. 3.2, "text semantics"). A caption is lower-cased and split
 * into words; each word of a fixed scene vocabulary (plurals folded to the singular) gets a fixed
 * unit vector drawn from a seeded hash of the word, unknown words share one [unk] vector, and the
 * sequence is framed by [start]/[end] and zero-padded to 77 tokens, as CLIP's is. No learning,
 * no download: identical bytes on every machine, so a model trained with it sees the same F_t.
 */
export const LEXICON_TOKENS = 77;
export const LEXICON_DIM = 64;
export const LEXICON_ID = `tesg-lexicon-v1-${LEXICON_TOKENS}x${LEXICON_DIM}`;

/** The fixed vocabulary. Changing it changes the encoder: bump the id's version. */
export const LEXICON_WORDS: readonly string[] = [
  // key objects (V*) and their synonyms
  'person', 'people', 'pedestrian', 'man', 'woman', 'child', 'boy', 'girl', 'cyclist', 'car', 'vehicle', 'van',
  'taxi', 'suv', 'jeep', 'bicycle', 'bike', 'motorcycle', 'motorbike', 'scooter', 'bus', 'truck', 'lorry', 'train',
  // scene
  'road', 'street', 'scene', 'lane', 'crosswalk', 'intersection', 'sidewalk', 'pavement', 'highway', 'parking',
  'lot', 'building', 'house', 'wall', 'fence', 'guardrail', 'curb', 'cone', 'bump', 'sign', 'light', 'lamp',
  'pole', 'traffic', 'tree', 'bush', 'grass', 'sky', 'cloud', 'bridge', 'tunnel', 'gate', 'door', 'window',
  'shop', 'campus', 'city', 'town', 'park', 'field', 'bench', 'barrier', 'line', 'arrow', 'marking',
  // time, light, weather
  'night', 'day', 'daytime', 'evening', 'morning', 'dark', 'bright', 'dim', 'sunny', 'cloudy', 'rain', 'rainy',
  'fog', 'foggy', 'snow', 'shadow', 'glare', 'headlight', 'streetlight',
  // modality words
  'infrared', 'thermal', 'visible', 'image', 'photo', 'picture', 'view', 'camera',
  // counts and function words
  'a', 'an', 'the', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'several',
  'many', 'some', 'group', 'of', 'and', 'with', 'in', 'on', 'at', 'near', 'by', 'along', 'across', 'front',
  'behind', 'next', 'to', 'there', 'is', 'are', 'no',
  // actions and attributes
  'walking', 'standing', 'riding', 'driving', 'parked', 'crossing', 'waiting', 'moving', 'sitting', 'running',
  'white', 'black', 'red', 'blue', 'gray', 'silver', 'yellow', 'green', 'small', 'large', 'big', 'empty', 'busy',
  'distant', 'close',
];

const SPECIAL = ['[start]', '[end]', '[unk]'] as const;

/** 32-bit FNV-1a: a stable seed from a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A unit vector of Gaussian draws (Box-Muller) seeded by the word. */
export function wordVector(word: string, dim = LEXICON_DIM): Float32Array {
  const rand = mulberry32(fnv1a(`tesg-lexicon-v1:${word}`));
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i += 2) {
    const u1 = Math.max(rand(), 1e-12), u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    v[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < dim) v[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  for (let i = 0; i < dim; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] /= norm;
  return v;
}

export class LexiconEncoder implements TextEncoder {
  readonly id = LEXICON_ID;
  readonly tokens = LEXICON_TOKENS;
  readonly dim = LEXICON_DIM;
  private readonly table = new Map<string, Float32Array>();

  constructor() {
    for (const w of [...SPECIAL, ...LEXICON_WORDS]) this.table.set(w, wordVector(w));
  }

  /** The vocabulary entry of each word of the text (plurals folded; unknown words as [unk]). */
  tokenize(text: string): string[] {
    const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
    return words.map((w) => this.lookup(w));
  }

  async encode(text: string): Promise<Float32Array> {
    return this.encodeSync(text);
  }

  encodeSync(text: string): Float32Array {
    const seq = ['[start]', ...this.tokenize(text).slice(0, this.tokens - 2), '[end]'];
    const out = new Float32Array(this.tokens * this.dim); // padding rows stay zero
    seq.forEach((tok, i) => out.set(this.table.get(tok)!, i * this.dim));
    return out;
  }

  private lookup(w: string): string {
    if (this.table.has(w) && !SPECIAL.includes(w as (typeof SPECIAL)[number])) return w;
    for (const stem of [w.replace(/ies$/, 'y'), w.replace(/es$/, ''), w.replace(/s$/, '')]) {
      if (stem !== w && this.table.has(stem)) return stem;
    }
    if (w === 'men') return 'man';
    if (w === 'women') return 'woman';
    if (w === 'children') return 'child';
    return '[unk]';
  }
}

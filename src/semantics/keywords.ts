/**
 * V*: the key-object keywords of a caption (paper sec. 3.2), and T^ = T with them removed.
 * A vocabulary maps each canonical keyword (what detection/segmentation care about) to the
 * surface forms a caption may use (plurals, synonyms).
 */
export type KeywordVocab = Readonly<Record<string, readonly string[]>>;

/** Default V* vocabulary: the road-scene classes of MSRS/COCO detection and segmentation. */
export const DEFAULT_VOCAB: KeywordVocab = {
  person: ['person', 'persons', 'people', 'pedestrian', 'pedestrians', 'man', 'men', 'woman', 'women', 'child', 'children', 'boy', 'boys', 'girl', 'girls', 'cyclist', 'cyclists', 'walker', 'walkers'],
  car: ['car', 'cars', 'vehicle', 'vehicles', 'van', 'vans', 'taxi', 'taxis', 'suv', 'suvs', 'jeep', 'jeeps'],
  bicycle: ['bicycle', 'bicycles', 'bike', 'bikes'],
  motorcycle: ['motorcycle', 'motorcycles', 'motorbike', 'motorbikes', 'scooter', 'scooters', 'moped', 'mopeds'],
  bus: ['bus', 'buses', 'busses'],
  truck: ['truck', 'trucks', 'lorry', 'lorries'],
};

/** Words that belong to a removed object's noun phrase when they stand right before it. */
const PHRASE_MODIFIERS = new Set([
  'a', 'an', 'the', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven',
  'twelve', 'several', 'some', 'many', 'few', 'multiple', 'couple', 'group', 'pair', 'lot', 'lots', 'of', 'more',
  'white', 'black', 'red', 'blue', 'gray', 'grey', 'silver', 'dark', 'small', 'large', 'big', 'parked',
  'distant', 'walking', 'standing', 'moving',
]);

/** Connectors that are left dangling once an object phrase is gone. */
const CONNECTORS = new Set(['and', 'with', 'or', ',', 'of']);

interface Token {
  text: string;
  /** lower-case word, or the punctuation itself */
  norm: string;
}

function tokenize(caption: string): Token[] {
  return (caption.match(/[A-Za-z0-9'-]+|[,;.]/g) ?? []).map((t) => ({ text: t, norm: t.toLowerCase() }));
}

function formIndex(vocab: KeywordVocab): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, forms] of Object.entries(vocab)) {
    m.set(key.toLowerCase(), key);
    for (const f of forms) m.set(f.toLowerCase(), key);
  }
  return m;
}

/** The canonical keywords of `vocab` that occur in the caption, in order of first appearance. */
export function findKeywords(caption: string, vocab: KeywordVocab = DEFAULT_VOCAB): string[] {
  const forms = formIndex(vocab);
  const found: string[] = [];
  for (const t of tokenize(caption)) {
    const k = forms.get(t.norm);
    if (k && !found.includes(k)) found.push(k);
  }
  return found;
}

/**
 * T^: the caption without the given keywords (any surface form of them in `vocab`), together with
 * their counts/articles/simple modifiers ("two persons", "a parked car"), then tidied: dangling
 * "and"/"with"/commas removed, spaces collapsed. "a night road scene with two persons and a car"
 * minus [person] is "a night road scene with a car"; minus [person, car] it is "a night road scene".
 */
export function removeKeywords(caption: string, keywords: readonly string[], vocab: KeywordVocab = DEFAULT_VOCAB): string {
  const forms = formIndex(vocab);
  const drop = new Set(keywords.map((k) => forms.get(k.toLowerCase()) ?? k.toLowerCase()));
  const tokens = tokenize(caption);
  const keep = tokens.map(() => true);
  for (let i = 0; i < tokens.length; i++) {
    const k = forms.get(tokens[i].norm) ?? tokens[i].norm;
    if (!drop.has(k)) continue;
    keep[i] = false;
    for (let j = i - 1; j >= 0 && keep[j] && PHRASE_MODIFIERS.has(tokens[j].norm); j--) keep[j] = false;
  }
  return tidy(tokens.filter((_, i) => keep[i]));
}

/** Remove connectors left with nothing on one side, and join the words back. */
function tidy(tokens: Token[]): string {
  const out: Token[] = [];
  for (const t of tokens) {
    const prev = out[out.length - 1];
    if (CONNECTORS.has(t.norm) && (!prev || CONNECTORS.has(prev.norm))) {
      // "with and" -> "with"; ", and" -> "and"; a connector at the start goes.
      if (prev && t.norm !== ',' && prev.norm === ',') out[out.length - 1] = t;
      continue;
    }
    out.push(t);
  }
  while (out.length && (CONNECTORS.has(out[out.length - 1].norm) || out[out.length - 1].norm === ';')) out.pop();
  return out
    .map((t) => t.text)
    .join(' ')
    .replace(/\s+([,;.])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

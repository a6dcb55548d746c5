/**
 * Turning generated token ids back into text, for the two tokenizer families captioning exports
 * use: BERT WordPiece (BLIP: "##" continues a word) and GPT-2 byte-level BPE (ViT-GPT2: "Ġ" is
 * a space byte). Decoding needs only the id -> token table, never the merges.
 */
import { fromByteChars } from './byte-level.js';

export type DetokenizerKind = 'wordpiece' | 'byte-level';

export interface Detokenizer {
  readonly kind: DetokenizerKind;
  /** id -> token. */
  readonly tokens: ReadonlyMap<number, string>;
  /** Ids that decoding skips ([CLS], [SEP], [PAD], <|endoftext|>, BLIP's [DEC], ...). */
  readonly specialIds: ReadonlySet<number>;
  tokenId(token: string): number | undefined;
  decode(ids: number[]): string;
}

export function makeDetokenizer(kind: DetokenizerKind, tokens: ReadonlyMap<number, string>, specialIds: Set<number>): Detokenizer {
  const byToken = new Map<string, number>();
  for (const [id, t] of tokens) if (!byToken.has(t)) byToken.set(t, id);
  return {
    kind,
    tokens,
    specialIds,
    tokenId: (t) => byToken.get(t),
    decode(ids) {
      const pieces = ids.filter((id) => !specialIds.has(id)).map((id) => tokens.get(id) ?? '');
      return kind === 'wordpiece' ? joinWordPieces(pieces) : fromByteChars(pieces.join('')).trim();
    },
  };
}

/** BERT's decode: tokens joined by spaces, " ##" glued, then Hugging Face's clean_up_tokenization. */
export function joinWordPieces(pieces: string[]): string {
  return cleanUpTokenization(pieces.join(' ').replace(/ ##/g, '').trim());
}

/** transformers' clean_up_tokenization: no space before punctuation and English contractions. */
export function cleanUpTokenization(text: string): string {
  return text
    .replace(/ \./g, '.')
    .replace(/ \?/g, '?')
    .replace(/ !/g, '!')
    .replace(/ ,/g, ',')
    .replace(/ ' /g, "'")
    .replace(/ n't/g, "n't")
    .replace(/ 'm/g, "'m")
    .replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve")
    .replace(/ 're/g, "'re");
}

/**
 * CLIP's BPE tokenizer (openai/CLIP simple_tokenizer.py, the `tokenizer/` folder of Stable
 * Diffusion exports): clean and lowercase, split with CLIP's regex, byte-level BPE with a "</w>"
 * end-of-word suffix, then <|startoftext|> ... <|endoftext|> padded to 77.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { BpeMerges, parseMergesTxt } from './bpe.js';
import { toByteChars } from './byte-level.js';
import { readJsonFile, readOptionalJson, specialToken } from './special-tokens.js';

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';
/** CLIP's pre-tokenizer: specials, English contractions, letter runs, single digits, other runs. */
const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
const DEFAULT_LENGTH = 77;

export interface ClipTokenizerOptions {
  /** Sequence length (pad/truncate); default tokenizer_config.json's model_max_length, else 77. */
  length?: number;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly merges: BpeMerges,
    readonly length: number = DEFAULT_LENGTH,
    padToken: string = EOS,
  ) {
    this.bosId = must(vocab, BOS);
    this.eosId = must(vocab, EOS);
    this.padId = must(vocab, padToken);
    this.unkId = this.eosId; // Hugging Face's CLIPTokenizer: unk_token = <|endoftext|>
    if (length < 2) throw new Error(`CLIP sequence length must be >= 2, got ${length}`);
  }

  /** Loads `dir/vocab.json` + `dir/merges.txt` (+ special_tokens_map.json, tokenizer_config.json). */
  static fromFolder(dir: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    const vocabFile = join(dir, 'vocab.json');
    const mergesFile = join(dir, 'merges.txt');
    for (const f of [vocabFile, mergesFile]) {
      if (!existsSync(f)) throw new InputError(f, 'missing: a CLIP tokenizer folder needs vocab.json and merges.txt (see docs/onnx-sig.md)');
    }
    const raw = readJsonFile(vocabFile);
    if (!raw || typeof raw !== 'object') throw new InputError(vocabFile, 'expected a JSON object token -> id');
    const vocab = new Map(Object.entries(raw as Record<string, number>));
    const merges = new BpeMerges(parseMergesTxt(readFileSync(mergesFile, 'utf8')));
    const configured = readOptionalJson(dir, 'tokenizer_config.json')?.model_max_length;
    // Tokenizer configs without a limit hold 1e30 ("very large"); CLIP's position table is 77.
    const length = options.length ?? (typeof configured === 'number' && configured <= 4096 ? configured : DEFAULT_LENGTH);
    const pad = specialToken(dir, 'pad_token') ?? EOS;
    if (!vocab.has(pad)) throw new InputError(vocabFile, `pad token "${pad}" (from the tokenizer config) is not in the vocabulary`);
    for (const t of [BOS, EOS]) if (!vocab.has(t)) throw new InputError(vocabFile, `special token "${t}" is not in the vocabulary: not a CLIP vocab`);
    return new ClipTokenizer(vocab, merges, length, pad);
  }

  /** Token ids of the text alone, no specials, no padding. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    for (const word of clean(text).match(CLIP_PATTERN) ?? []) ids.push(...this.word(word));
    return ids;
  }

  /** [bos, tokens (truncated to length-2), eos, pad...] of exactly `length` ids, as SD's pipeline. */
  encode(text: string): number[] {
    const body = this.tokenize(text).slice(0, this.length - 2);
    const ids = [this.bosId, ...body, this.eosId];
    while (ids.length < this.length) ids.push(this.padId);
    return ids;
  }

  private word(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let ids: number[];
    if (word === BOS || word === EOS) ids = [this.vocab.get(word)!];
    else {
      const chars = [...toByteChars(word)];
      chars[chars.length - 1] += '</w>';
      ids = this.merges.apply(chars).map((t) => this.vocab.get(t) ?? this.unkId);
    }
    this.cache.set(word, ids);
    return ids;
  }
}

/**
 * openai's basic_clean + whitespace_clean + lower, without ftfy: NFC, HTML entities decoded,
 * whitespace runs to one space, trimmed, lowercased (Hugging Face's fast CLIP tokenizer does the same).
 */
export function clean(text: string): string {
  return decodeEntities(text.normalize('NFC')).replace(/\s+/gu, ' ').trim().toLowerCase();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/giu, (m, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[body.toLowerCase()] ?? m;
  });
}

function must(vocab: ReadonlyMap<string, number>, token: string): number {
  const id = vocab.get(token);
  if (id === undefined) throw new Error(`token "${token}" is not in the vocabulary`);
  return id;
}

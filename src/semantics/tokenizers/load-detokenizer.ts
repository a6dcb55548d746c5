/**
 * Finds and reads the tokenizer of a captioning export folder, in this order:
 *  1. tokenizer.json (Hugging Face "fast" format): model.type WordPiece or BPE; its decoder type
 *     (WordPiece / ByteLevel) picks the joining rule; added_tokens marked special are skipped;
 *  2. vocab.txt (BERT/BLIP WordPiece, one token per line, id = line number);
 *  3. vocab.json (GPT-2 byte-level BPE, token -> id).
 * Special tokens named in special_tokens_map.json / tokenizer_config.json and added_tokens.json
 * are skipped too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { makeDetokenizer, type Detokenizer, type DetokenizerKind } from './detokenize.js';
import { readJsonFile, readOptionalJson, tokenContent } from './special-tokens.js';

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

export function loadDetokenizer(dir: string): Detokenizer {
  const fast = join(dir, 'tokenizer.json');
  const vocabTxt = join(dir, 'vocab.txt');
  const vocabJson = join(dir, 'vocab.json');
  let kind: DetokenizerKind;
  let tokens: Map<number, string>;
  const special = new Set<number>();
  if (existsSync(fast)) {
    ({ kind, tokens } = fromTokenizerJson(fast, special));
  } else if (existsSync(vocabTxt)) {
    kind = 'wordpiece';
    const lines = readFileSync(vocabTxt, 'utf8').split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    tokens = new Map(lines.map((t, i) => [i, t]));
  } else if (existsSync(vocabJson)) {
    kind = 'byte-level';
    tokens = invert(readJsonFile(vocabJson), vocabJson);
  } else {
    throw new InputError(dir, 'no tokenizer: expected tokenizer.json, vocab.txt (WordPiece) or vocab.json (byte-level BPE) (see docs/onnx-sig.md)');
  }
  const added = readOptionalJson(dir, 'added_tokens.json') as Record<string, number> | undefined;
  for (const [t, id] of Object.entries(added ?? {})) {
    tokens.set(id, t);
    special.add(id);
  }
  const byToken = new Map([...tokens].map(([id, t]) => [t, id]));
  for (const file of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const json = readOptionalJson(dir, file) ?? {};
    for (const key of SPECIAL_KEYS) {
      const id = byToken.get(tokenContent(json[key]) ?? '\u0000');
      if (id !== undefined) special.add(id);
    }
  }
  return makeDetokenizer(kind, tokens, special);
}

function fromTokenizerJson(file: string, special: Set<number>): { kind: DetokenizerKind; tokens: Map<number, string> } {
  const json = readJsonFile(file) as {
    model?: { type?: string; vocab?: unknown };
    decoder?: { type?: string; decoders?: Array<{ type?: string }> } | null;
    added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  };
  const modelType = json.model?.type;
  if (modelType !== 'WordPiece' && modelType !== 'BPE') {
    throw new InputError(file, `tokenizer model type ${String(modelType)} is not supported (WordPiece or BPE)`);
  }
  const tokens = invert(json.model?.vocab, file);
  for (const t of json.added_tokens ?? []) {
    tokens.set(t.id, t.content);
    if (t.special) special.add(t.id);
  }
  const decoderTypes = [json.decoder?.type, ...(json.decoder?.decoders ?? []).map((d) => d.type)];
  const kind: DetokenizerKind = decoderTypes.includes('WordPiece') || (modelType === 'WordPiece' && !decoderTypes.includes('ByteLevel')) ? 'wordpiece' : 'byte-level';
  return { kind, tokens };
}

function invert(vocab: unknown, file: string): Map<number, string> {
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw new InputError(file, 'expected a vocabulary object token -> id');
  return new Map(Object.entries(vocab as Record<string, number>).map(([t, id]) => [id, t]));
}

/**
 * Reading special-token names from a Hugging Face tokenizer folder: special_tokens_map.json and
 * tokenizer_config.json write a token either as a string or as {"content": "..."}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(file, `cannot read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(file, `not valid JSON: ${(err as Error).message}`);
  }
}

/** The JSON of `dir/name`, or undefined when the file is absent. */
export function readOptionalJson(dir: string, name: string): Record<string, unknown> | undefined {
  const file = join(dir, name);
  return existsSync(file) ? (readJsonFile(file) as Record<string, unknown>) : undefined;
}

export function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** A special token (e.g. "pad_token") as special_tokens_map.json, then tokenizer_config.json, give it. */
export function specialToken(dir: string, key: string): string | undefined {
  for (const name of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const t = tokenContent(readOptionalJson(dir, name)?.[key]);
    if (t !== undefined) return t;
  }
  return undefined;
}

/**
 * GPT-2 / CLIP byte-level alphabet: every byte gets a printable unicode character, so BPE can
 * work on strings without whitespace or control characters (openai's bytes_to_unicode()).
 * Printable Latin-1 bytes map to themselves; the other 68 bytes to U+0100 onwards, in byte order.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : next++);
  return table;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** The byte-level spelling of a string: its UTF-8 bytes, each as its alphabet character. */
export function toByteChars(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Inverse of toByteChars; characters outside the alphabet are kept as their own UTF-8. */
export function fromByteChars(chars: string): string {
  const bytes: number[] = [];
  for (const c of chars) {
    const b = CHAR_TO_BYTE.get(c);
    if (b !== undefined) bytes.push(b);
    else bytes.push(...utf8.encode(c));
  }
  return utf8Decoder.decode(Uint8Array.from(bytes));
}

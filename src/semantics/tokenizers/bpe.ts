/**
 * The BPE merge loop shared by byte-level tokenizers: starting from single symbols, repeatedly
 * merge the adjacent pair whose merge rule comes first in merges.txt (lowest rank), every
 * occurrence of it left to right, until no adjacent pair has a rule. This is the order of
 * openai's and Hugging Face's `bpe()`; the result depends on rule order, not only on the vocab.
 */
export class BpeMerges {
  private readonly ranks = new Map<string, number>();

  /** `merges`: rules in priority order, each "left right" (merges.txt lines) or a [left, right] pair. */
  constructor(merges: Iterable<string | [string, string]>) {
    let rank = 0;
    for (const m of merges) {
      const [a, b] = typeof m === 'string' ? splitRule(m) : m;
      const key = pairKey(a, b);
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
      rank++;
    }
  }

  get size(): number {
    return this.ranks.size;
  }

  rank(a: string, b: string): number | undefined {
    return this.ranks.get(pairKey(a, b));
  }

  apply(symbols: string[]): string[] {
    let word = symbols.slice();
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(pairKey(word[i], word[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    return word;
  }
}

function pairKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

function splitRule(line: string): [string, string] {
  const parts = line.split(' ');
  if (parts.length !== 2) throw new Error(`bad merge rule "${line}"`);
  return [parts[0], parts[1]];
}

/** merges.txt → rules: skips the "#version" header and blank lines. */
export function parseMergesTxt(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length > 0 && !l.startsWith('#version'));
}

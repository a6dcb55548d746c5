/**
 * What `tesg eval` could not score, in words: one line per kind of gap, for the one-line error
 * (without --allow-missing) and for the skip report on stderr (with it). The data is EvalSkipped
 * (./run.ts), also written to per-image.json.
 */
import { countUnmatched, describeUnmatched, fileStem } from '../util/pairing.js';
import type { FusedFolder, StemFailure } from './types.js';

const MAX_LISTED = 10;

/** "a, b, c and 4 more". */
export function listNames(names: readonly string[], max = MAX_LISTED): string {
  const head = names.slice(0, max).join(', ');
  return names.length > max ? `${head} and ${names.length - max} more` : head;
}

/** "the fused folder A=out/a lacks p2, p7" per method with gaps, in the order the methods were given. */
export function describeLacking(lacking: Record<string, string[]>, fused: readonly FusedFolder[]): string[] {
  return fused.filter((f) => lacking[f.name]?.length).map((f) => `the fused folder ${f.name}=${f.dir} lacks ${listNames(lacking[f.name])}`);
}

export interface SkippedParts {
  unmatched: Record<string, string[]>;
  lacking: Record<string, string[]>;
  unreadable: StemFailure[];
  mismatched: StemFailure[];
}

/** Lines for stderr after an --allow-missing run: what was skipped and why (sizes, unreadable files, gaps). */
export function skippedLines(s: SkippedParts, fused: readonly FusedFolder[]): string[] {
  const lines: string[] = [];
  const lone = countUnmatched(s.unmatched);
  if (lone > 0) lines.push(`skipped ${lone} file(s) without a partner: ${describeUnmatched(s.unmatched)}`);
  for (const gap of describeLacking(s.lacking, fused)) lines.push(`skipped: ${gap}`);
  for (const f of [...s.mismatched, ...s.unreadable]) lines.push(`skipped image '${f.stem}': ${f.message}`);
  return lines;
}

/** How many distinct image stems were left out (a stem counts once however many of its files are at fault). */
export function skippedStemCount(s: SkippedParts): number {
  const stems = new Set<string>();
  for (const files of Object.values(s.unmatched)) for (const f of files) stems.add(fileStem(f));
  for (const list of Object.values(s.lacking)) for (const stem of list) stems.add(stem);
  for (const f of [...s.unreadable, ...s.mismatched]) stems.add(f.stem);
  return stems.size;
}

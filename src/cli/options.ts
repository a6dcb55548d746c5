/** Option parsing shared by several commands. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/**
 * A commander parser for a number flag in min..max (an integer when `integer`): anything else is a
 * UsageError "FLAG must be a number|an integer in MIN..MAX, got 'V'".
 */
export const num = (flag: string, min: number, max = Infinity, integer = false) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got '${v}'`);
  }
  return n;
};

/**
 * `--resamples` and `--seed` of `tesg eval` and `tesg downstream detect` only shape the `--baseline`
 * comparison; given without it they would be ignored silently, so they are a usage error instead.
 */
export function checkBootstrapFlags(cmd: Command | undefined, baseline: string | undefined): void {
  for (const flag of ['resamples', 'seed']) {
    if (baseline === undefined && cmd?.getOptionValueSource(flag) === 'cli') throw new UsageError(`--${flag} only applies with --baseline NAME; add --baseline, or drop --${flag}`);
  }
}
